"""The station's PLC connection (the handshake on the register bank its settings ask for), and the
recipes the line may switch to."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from inspection.config import PlcSettings, Recipe, load_recipe
from inspection.config.plc_registers import IN_RECIPE, OUTPUT_WORDS
from inspection.outputs.base import FaultCallback
from inspection.outputs.handshake import PlcHandshake, RegisterBank
from inspection.outputs.modbus import ClientBank, ServerBank, WriteGuard

log = logging.getLogger(__name__)


def switchable_recipes(paths: dict[int, Path]) -> dict[int, Recipe]:
    """The products the line may switch to (by index), each read and checked as a recipe now; its model
    and references are checked when it is loaded (at start when preloaded, else at the changeover)."""
    return {index: load_recipe(path) for index, path in paths.items()}


def open_bank(settings: PlcSettings, guard: WriteGuard | None = None) -> RegisterBank:
    if settings.mode == "server":
        return ServerBank(settings.host, settings.port, guard=guard)
    return ClientBank(settings.host, settings.port, settings.unit)


def write_guard(settings: PlcSettings, on_fault: FaultCallback, recipes: dict[int, Recipe]) -> WriteGuard:
    """What the station's server refuses from its clients: writes into its output block, and a recipe
    index that is not one of the station's (so a garbage index cannot stall every later trigger)."""
    recipe_address = settings.input_base + IN_RECIPE

    def check(address: int, values: list[int]) -> str | None:
        if address <= recipe_address < address + len(values):
            index = values[recipe_address - address]
            if index and index not in recipes:
                return f"recipe index {index} is not one of the station's {sorted(recipes) or '(none)'}"
        return None

    def refused(why: str, counters: dict[str, int]) -> None:
        log.warning("PLC link: %s (%s)", why, counters)
        on_fault(why, counters)

    protected = range(settings.output_base, settings.output_base + OUTPUT_WORDS)
    allowed = frozenset(settings.allowed_clients) if settings.allowed_clients is not None else None
    return WriteGuard(protected, check, refused, allowed)


def start_handshake(
    settings: PlcSettings,
    on_fault: Callable[[str, dict[str, int]], None],
    recipes: dict[int, Recipe],
    on_link: Callable[[bool, str], None] | None = None,
) -> PlcHandshake:
    handshake = PlcHandshake(
        open_bank(settings, write_guard(settings, on_fault, recipes)),
        settings.input_base,
        settings.output_base,
        settings.poll_ms / 1000.0,
        settings.ack_timeout_s,
        settings.heartbeat_s,
        on_fault,
        recipe_known=lambda index: index in recipes,
        buffer=settings.buffer,
        on_link=on_link,
    )
    handshake.start()
    return handshake
