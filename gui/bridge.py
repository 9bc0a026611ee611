"""Core events -> Qt signals, across threads, without ever blocking the station.

The event bus calls ``deliver`` on its own thread. Verdicts for the live view are coalesced: only the
newest one is kept, and a repaint is requested only when none is pending, so a slow screen shows the
latest part instead of building a backlog.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from gui.widgets.fail_strip import thumbnail
from inspection.events import (
    AlertCleared,
    AlertRaised,
    CameraFault,
    Event,
    InspectionDone,
    StateChanged,
    StatsUpdate,
)
from inspection.types import Verdict


class StationBridge(QObject):
    latest_ready = Signal()  # call take_latest() on the GUI thread
    failed_part = Signal(object, object, object)  # every FAIL: record, image, thumbnail
    stats = Signal(dict)
    state = Signal(str, str)
    fault = Signal(str, str, dict)
    alert = Signal(int, str, str)  # alert id, rule, message
    alert_cleared = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._latest: InspectionDone | None = None
        self.superseded = 0  # verdicts never shown because a newer one came first

    def deliver(self, event: Event) -> None:
        """Event-bus thread: hand over, never wait."""
        if isinstance(event, InspectionDone):
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
        elif isinstance(event, StatsUpdate):
            self.stats.emit(dict(event.stats))
        elif isinstance(event, StateChanged):
            self.state.emit(event.state, event.detail)
        elif isinstance(event, CameraFault):
            counters: dict[str, Any] = dict(event.counters)
            self.fault.emit(event.camera, event.message, counters)
        elif isinstance(event, AlertRaised):
            self.alert.emit(event.id, event.rule, event.message)
        elif isinstance(event, AlertCleared):
            self.alert_cleared.emit(event.id)

    def take_latest(self) -> InspectionDone | None:
        with self._lock:
            latest, self._latest = self._latest, None
        return latest
