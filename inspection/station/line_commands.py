"""Commands from the line (the MQTT command topic, the OPC UA methods): stop, switch the product by the
station's recipe index, and trigger one part (a station with ``pipeline.trigger: manual``)."""

from __future__ import annotations

from collections.abc import Callable

from inspection.config import Recipe
from inspection.core.errors import StationError
from inspection.station.changeover import ChangeoverResult


def line_command(
    command: dict[str, object],
    stop: Callable[[], None],
    recipes: dict[int, Recipe],
    change_product: Callable[[Recipe], ChangeoverResult],
    trigger: Callable[[str | None], None],
) -> str:
    """The answer to one command (``{"command": "stop"}``, ``{"command": "recipe", "index": N}``,
    ``{"command": "trigger", "serial": ...}``)."""
    match command.get("command"):
        case "stop":
            stop()
            return "stopping"
        case "recipe":
            index = command.get("index")
            if not isinstance(index, int) or index not in recipes:
                return f"refused: recipe index {index!r} is not one of {sorted(recipes)}"
            result = change_product(recipes[index])
            if result.refused is not None:
                return f"refused: {result.refused}"
            return f"recipe {result.product} ready in {result.seconds:.2f} s, from the next part"
        case "trigger":
            serial = command.get("serial")
            try:
                trigger(serial if isinstance(serial, str) and serial else None)
            except StationError as exc:
                return f"refused: {exc}"
            return "triggered"
        case "start":
            return "refused: the station is started at the cell"
        case other:
            return f"refused: unknown command {other!r} (stop, recipe, trigger)"
