"""Core events -> Qt signals, across threads, without ever blocking the station.

The event bus calls ``deliver`` on its own thread. Verdicts for the live view are coalesced: only the
newest one is kept, and a repaint is requested only when none is pending, so a slow screen shows the
latest part instead of building a backlog.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from gui.widgets.fail_strip import thumbnail
from inspection.core.events import (
    AlertCleared,
    AlertRaised,
    CameraBack,
    CameraFault,
    Event,
    InspectionDone,
    LineFault,
    LineLink,
    ProductChange,
    RecordWritten,
    StateChanged,
    StatsUpdate,
)
from inspection.core.types import InspectionRecord, Verdict

log = logging.getLogger(__name__)
RECENT_PARTS = 50  # parts the rules' preview judges again


class StationBridge(QObject):
    latest_ready = Signal()  # call take_latest() on the GUI thread
    failed_part = Signal(object, object, object)  # every FAIL: record, image, thumbnail
    stats = Signal(object)  # StationStatus
    state = Signal(str, str)
    fault = Signal(str, str, object)  # camera, message, CameraCounts
    line_fault = Signal(str, str)  # source (plc, mqtt, fleet), message
    line_link = Signal(str, bool, str)  # source, up, message
    product = Signal(str, str, str)  # product, phase (started | ready | refused), detail
    alert = Signal(int, str, str)  # alert id, rule, message
    alert_cleared = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._latest: InspectionDone | None = None
        self.superseded = 0  # verdicts never shown because a newer one came first
        self.recent: deque[InspectionRecord] = deque(maxlen=RECENT_PARTS)  # every part's record, newest last
        # One handler for every event type the core publishes (a test checks that none is missing).
        self.handlers: dict[type, Callable[[Any], None]] = {
            InspectionDone: self._inspection_done,
            RecordWritten: _ignored,  # the history and charts read the database when shown
            StatsUpdate: lambda event: self.stats.emit(event.status),
            StateChanged: lambda event: self.state.emit(event.state, event.detail),
            CameraFault: lambda event: self.fault.emit(event.camera, event.message, event.counters),
            CameraBack: lambda event: self.fault.emit(event.camera, "", event.counters),  # the fault ends now
            LineFault: lambda event: self.line_fault.emit(event.source, event.message),
            LineLink: lambda event: self.line_link.emit(event.source, event.up, event.message),
            ProductChange: lambda event: self.product.emit(event.product, event.phase, event.detail),
            AlertRaised: lambda event: self.alert.emit(event.id, event.rule, event.message),
            AlertCleared: lambda event: self.alert_cleared.emit(event.id),
        }

    def deliver(self, event: Event) -> None:
        """Event-bus thread: hand over, never wait."""
        handler = self.handlers.get(type(event))
        if handler is None:
            log.error("the app has no handler for %s events; it is not shown", type(event).__name__)
            return
        handler(event)

    def _inspection_done(self, event: InspectionDone) -> None:
        self.recent.append(event.record)  # for the rules' preview (a deque's append is thread-safe)
        with self._lock:
            pending = self._latest is not None
            if pending:
                self.superseded += 1
            self._latest = event
        if not pending:
            self.latest_ready.emit()
        if event.record.verdict == Verdict.FAIL and event.frame is not None:
            image = event.frame.image
            self.failed_part.emit(event.record, image, thumbnail(image))  # resized here, not on the GUI

    def take_latest(self) -> InspectionDone | None:
        with self._lock:
            latest, self._latest = self._latest, None
        return latest


def _ignored(_event: Event) -> None:
    return None
