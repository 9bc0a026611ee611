"""The station's PLC connection (the handshake on the register bank its settings ask for), and the
recipes the line may switch to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from inspection.config import PlcSettings, Recipe, load_recipe
from inspection.core.errors import ConfigError
from inspection.outputs.handshake import PlcHandshake, RegisterBank
from inspection.outputs.modbus import ClientBank, ServerBank


def switchable_recipes(paths: dict[int, Path], recipe: Recipe) -> dict[int, Recipe]:
    """The recipes the line may switch to (by index), each checked now: a switch only changes rules
    (the model stays loaded), so every one must name the station recipe's model and classes."""
    recipes = {}
    for index, path in paths.items():
        candidate = load_recipe(path)
        if candidate.model != recipe.model or candidate.classes != recipe.classes:
            raise ConfigError(
                f"recipes {index} ({path}): switching recipes keeps the model; it must use the model "
                f"{recipe.model} and classes {recipe.classes} of the station's recipe"
            )
        recipes[index] = candidate
    return recipes


def open_bank(settings: PlcSettings) -> RegisterBank:

    if settings.mode == "server":
        return ServerBank(settings.host, settings.port)
    return ClientBank(settings.host, settings.port, settings.unit)


def start_handshake(
    settings: PlcSettings, on_fault: Callable[[str, dict[str, int]], None], recipes: dict[int, Recipe]
) -> PlcHandshake:
    handshake = PlcHandshake(
        open_bank(settings),
        settings.input_base,
        settings.output_base,
        settings.poll_ms / 1000.0,
        settings.ack_timeout_s,
        settings.heartbeat_s,
        on_fault,
        recipe_known=lambda index: index in recipes,
        buffer=settings.buffer,
    )
    handshake.start()
    return handshake
