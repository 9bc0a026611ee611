"""The interface of a line output (MQTT, fleet forwarding, and whatever is added next), and what it gets
from the station when it is made.

An output's lifecycle follows the run: made (settings checked) when the station is built, ``start`` when
the run starts, ``record`` for every verdict (straight from the detect thread: it must not block),
``records_written`` once the last record is committed, ``close`` after the station reported itself
stopped. ``status`` gives its counters for the live status."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Engine

from inspection.config import StationConfig
from inspection.core.events import EventBus, LineFault, LineLink
from inspection.core.types import InspectionRecord

log = logging.getLogger(__name__)

Command = Callable[[dict[str, object]], str]  # a command from the line ({"command": ...}) -> the answer
FaultCallback = Callable[[str, dict[str, int]], None]
LinkCallback = Callable[[bool, str], None]  # (up, message): the peer's link went down or came back


@dataclass(frozen=True)
class OutputContext:
    """What an output may use: the station's config, its database (read), its event bus (subscribe for
    state changes and alerts), and the station's command handler."""

    config: StationConfig
    engine: Engine
    bus: EventBus
    on_command: Command

    def fault_reporter(self, source: str) -> FaultCallback:
        return fault_reporter(self.bus, source)

    def link_reporter(self, source: str) -> LinkCallback:
        return link_reporter(self.bus, source)

    def settings(self, name: str) -> dict[str, Any] | None:
        """The settings of an output configured under ``outputs: {name: ...}`` (None: not configured)."""
        return self.config.outputs.get(name)


def fault_reporter(bus: EventBus, source: str) -> FaultCallback:
    """A line output's fault callback: a ``LineFault`` event on the station's bus."""

    def report(message: str, counters: dict[str, int]) -> None:
        bus.publish(LineFault(source, message, dict(counters)))

    return report


def link_reporter(bus: EventBus, source: str) -> LinkCallback:
    """A line output's link callback: a ``LineLink`` event on the station's bus."""

    def report(up: bool, message: str) -> None:
        bus.publish(LineLink(source, up, message))

    return report


class Output(ABC):
    """One line output. ``name`` keys its counters in the station's status and is its registry name.
    ``separable``: it may run in the outputs' own process (``pipeline.outputs_process``): its factory makes
    it from the config alone, and it reaches the station only through its context (bus, database, commands)."""

    name: str
    separable: ClassVar[bool] = False

    @abstractmethod
    def start(self) -> None:
        """Connect (in the background: a peer that is down is a fault, not a failed start)."""

    def record(self, record: InspectionRecord) -> None:  # noqa: B027  (most outputs take every verdict)
        """One verdict; called on the detect thread, so it only queues."""

    def records_written(self) -> None:  # noqa: B027  (optional hook)
        """The last record is in the database."""

    @abstractmethod
    def close(self) -> None:
        """Stop, after delivering what the peer still accepts within a short time."""

    @abstractmethod
    def status(self) -> dict[str, int]:
        """Counters (queued, sent, failures, ...)."""


# Makes the output from the context, or returns None when the station's config does not ask for it.
# It checks the settings at once (raising ConfigError), so a wrong setting stops the station's build.
OutputFactory = Callable[[OutputContext], Output | None]


def close_all(outputs: Iterable[Output]) -> None:
    """Close every output; one failing to close must not keep the others open (logged)."""
    for output in outputs:
        try:
            output.close()
        except Exception:
            log.exception("closing the %s output", output.name)
