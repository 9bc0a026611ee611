"""Events the station publishes; GUI, PLC and MQTT outputs subscribe without touching workers.

Subscribers run on the bus's own thread, so a slow subscriber never blocks inspection: when its
queue is full, the oldest per-part event (a part done, a record written, a status) is dropped and counted;
state changes, faults, links, product changes and alerts are never dropped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inspection.core.status import CameraCounts, StationStatus
from inspection.core.types import Frame, InspectionRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InspectionDone:
    record: InspectionRecord
    frame: Frame | None = None


@dataclass(frozen=True)
class RecordWritten:
    record: InspectionRecord


@dataclass(frozen=True)
class StateChanged:
    state: str  # starting | running | stopping | stopped | fault
    detail: str = ""


@dataclass(frozen=True)
class CameraFault:
    camera: str
    message: str
    counters: CameraCounts = field(default_factory=CameraCounts)


@dataclass(frozen=True)
class CameraBack:
    """A lost camera reopened: its fault ends now, not at the next status tick."""

    camera: str
    counters: CameraCounts = field(default_factory=CameraCounts)


@dataclass(frozen=True)
class LineFault:
    """A fault on a line output: a missed PLC handshake, a broker or database out of reach."""

    source: str  # plc | mqtt | fleet
    message: str
    counters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LineLink:
    """A line peer's link went down or came back (PLC registers, MQTT broker, central database): a fault
    that lasts until the link is back, unlike a ``LineFault`` about one part or one message."""

    source: str  # plc | mqtt | fleet
    up: bool
    message: str


@dataclass(frozen=True)
class ProductChange:
    """A product changeover: ``started`` (asked for), then ``ready`` (the next part is judged by it) or
    ``refused`` (the station stays on the old product; ``detail`` says why)."""

    product: str
    version: str
    phase: str  # started | ready | refused
    detail: str = ""
    seconds: float = 0.0  # from the request to ready or refused


@dataclass(frozen=True)
class StatsUpdate:
    status: StationStatus


@dataclass(frozen=True)
class AlertRaised:
    id: int  # the alert's row in the database (acknowledge it by this)
    rule: str
    message: str


@dataclass(frozen=True)
class AlertCleared:
    id: int
    rule: str


Event = (
    InspectionDone
    | RecordWritten
    | StateChanged
    | CameraFault
    | CameraBack
    | LineFault
    | LineLink
    | ProductChange
    | StatsUpdate
    | AlertRaised
    | AlertCleared
)
Subscriber = Callable[[Event], None]


# Per-part events, one after another at the line's rate: when a subscriber falls behind, the oldest of these
# is dropped (the next part's, or the next status, follows). State, fault, link, product and alert events are
# never dropped: each is a transition that the state log (OEE), the OPC UA server and the screen must see.
PER_PART_EVENTS = (InspectionDone, RecordWritten, StatsUpdate)


class EventBus:
    def __init__(self, queue_size: int = 256) -> None:
        self._subscribers: list[Subscriber] = []
        self._events: deque[Event | None] = deque()
        self._ready = threading.Condition()
        self._size = queue_size
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.dropped = 0

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Register a callback; returns a function that unsubscribes it."""
        with self._lock:
            self._subscribers.append(callback)
            if self._thread is None:
                self._thread = threading.Thread(target=self._dispatch, name="event-bus", daemon=True)
                self._thread.start()

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: Event) -> None:
        if not self._subscribers:
            return
        with self._ready:
            if len(self._events) >= self._size:
                self._drop_oldest_per_part()
            self._events.append(event)
            self._ready.notify()

    def _drop_oldest_per_part(self) -> None:
        """The oldest per-part event waiting, counted; none when only transitions wait (they are few)."""
        for index, waiting in enumerate(self._events):
            if isinstance(waiting, PER_PART_EVENTS):
                del self._events[index]
                self.dropped += 1
                return

    def close(self, timeout: float = 2.0) -> None:
        if self._thread is not None:
            with self._ready:
                self._events.append(None)
                self._ready.notify()
            self._thread.join(timeout)
            self._thread = None

    def _dispatch(self) -> None:
        closing = False
        while True:
            with self._ready:
                while not self._events:
                    if closing:
                        return  # closed, and nothing is left
                    self._ready.wait()
                event = self._events.popleft()
            if event is None:
                # Subscribers may have published more events while handling the last ones (an alert
                # clearing on the last part): deliver those too, then stop.
                closing = True
                continue
            self._deliver(event)

    def _deliver(self, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed")
