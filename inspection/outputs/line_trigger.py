"""What starts a part and hears its result. With a PLC, the handshake: the PLC triggers each part (with
its serial, lot and recipe index) and reads back the verdict. Without one, the camera paces itself and
nobody waits for results. The station's grab and detect loops talk to this one interface."""

from __future__ import annotations

import logging
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from inspection.config import PlcSettings, Recipe, StationConfig
from inspection.core.errors import ConfigError
from inspection.outputs.base import FaultCallback, LinkCallback
from inspection.outputs.handshake import PlcHandshake, Result, next_or_stop
from inspection.outputs.plc import start_handshake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartRequest:
    """One part asked for: by the line (``serial`` and ``lot`` as the PLC gave them) or by nobody."""

    from_line: bool
    serial: str | None = None
    lot: str | None = None


class LineTrigger(ABC):
    @abstractmethod
    def wait(self, stop: threading.Event) -> PartRequest | None:
        """The next part to grab; None when ``stop`` is set first."""

    def grabbed(self) -> None:  # noqa: B027  (only a line that waits for the picture needs it)
        """The requested part's picture is taken."""

    def complete(self, result: Result) -> None:  # noqa: B027  (only a line that reads results needs it)
        """The part's verdict (``Result(None)``: none will come); from the detect thread, never blocks."""

    def close(self) -> None:  # noqa: B027  (nothing to close without a line)
        """Tell the line the station has gone."""

    def counters(self) -> dict[str, int] | None:
        """The handshake's counters (None: no line)."""
        return None


class CameraPaced(LineTrigger):
    """No PLC: every part is asked for at once (a software-triggered camera is still paced by the free
    slots of the detection queue, a hardware-triggered one by its trigger line)."""

    def wait(self, stop: threading.Event) -> PartRequest | None:
        return None if stop.is_set() else PartRequest(from_line=False)


class ManualTrigger(LineTrigger):
    """One part per request (a person at the cell pressing Trigger), with the serial typed or scanned."""

    def __init__(self) -> None:
        self._requests: queue.Queue[PartRequest] = queue.Queue()

    def request(self, serial: str | None = None) -> None:
        self._requests.put(PartRequest(from_line=False, serial=serial))

    def wait(self, stop: threading.Event) -> PartRequest | None:
        return next_or_stop(self._requests, stop, 0.2)


class PlcTrigger(LineTrigger):
    """The PLC handshake; a trigger naming another known recipe changes the product over before that part
    is grabbed (the PLC sees the station busy meanwhile); a refused product gives that part no verdict."""

    def __init__(
        self,
        settings: PlcSettings,
        on_fault: FaultCallback,
        recipes: dict[int, Recipe],
        change_product: Callable[[Recipe], str | None],
        on_link: LinkCallback | None = None,
    ) -> None:
        self.recipes = recipes
        self._change_product = change_product  # returns why it was refused, None when ready
        self._on_fault = on_fault
        self.handshake: PlcHandshake = start_handshake(settings, on_fault, recipes, on_link)

    def wait(self, stop: threading.Event) -> PartRequest | None:
        while (trigger := self.handshake.next_trigger(stop)) is not None:
            index = trigger.recipe_index  # 0: keep the current one; the handshake only passes known indexes
            if index and index != self.handshake.active_recipe:
                refused = self._change_product(self.recipes[index])
                if refused is not None:
                    self._on_fault(f"recipe {index} refused: {refused}", self.handshake.counters.as_dict())
                    self.handshake.complete(Result(None))  # this part gets no verdict; the old product stays
                    continue
                self.handshake.active_recipe = index
                log.info("PLC switched to recipe %d (%s)", index, self.recipes[index].name)
            return PartRequest(from_line=True, serial=trigger.serial or None, lot=trigger.lot or None)
        return None

    def grabbed(self) -> None:
        self.handshake.grabbed()

    def complete(self, result: Result) -> None:
        self.handshake.complete(result)

    def close(self) -> None:
        self.handshake.close()

    def counters(self) -> dict[str, int] | None:
        bank = self.handshake.bank
        return {**self.handshake.counters.as_dict(), "refused_writes": bank.refused_writes,
                "refused_connections": bank.refused_connections}  # fmt: skip


def first_trigger(config: StationConfig, paced_by_station: bool) -> LineTrigger:
    """What starts a part when the station is built: the camera's pace, or a person's (manual); a PLC's
    handshake replaces it when the run starts. Refuses combinations that cannot work."""
    manual = config.pipeline.trigger == "manual"
    if config.plc is not None and manual:
        raise ConfigError("pipeline.trigger: manual and a plc section: the PLC triggers the parts; choose one")
    if (config.plc is not None or manual) and not paced_by_station:
        who = "the PLC triggers" if config.plc is not None else "pipeline.trigger: manual triggers"
        raise ConfigError(f"{who} the camera by software; use a software-triggered camera")
    return ManualTrigger() if manual else CameraPaced()
