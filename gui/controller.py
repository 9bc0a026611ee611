"""Start and stop the station from the GUI: it is built and run on a worker thread, never the GUI's."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui.bridge import StationBridge
from inspection.config import Recipe, StationConfig, load_station_config
from inspection.core.errors import StationError, brief
from inspection.core.events import EventBus
from inspection.station.changeover import ChangeoverResult
from inspection.station.pipeline import Station
from inspection.station.run_summary import RunSummary

log = logging.getLogger(__name__)


class StationController(QObject):
    failed = Signal(str)  # a one-line error for the operator
    finished = Signal(object)  # RunSummary

    def __init__(self, config_path: Path, bridge: StationBridge) -> None:
        super().__init__()
        self.config_path = config_path
        self.config: StationConfig = load_station_config(config_path)
        self.bridge = bridge
        self._station: Station | None = None
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, parts: int | None = None) -> None:
        if self.running:
            return
        self._stop_requested.clear()
        self._thread = threading.Thread(target=self._run, args=(parts,), name="station-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop grabbing; parts already grabbed are still inspected and recorded."""
        self._stop_requested.set()
        station = self._station
        if station is not None:
            station.stop()

    def reload(self) -> None:
        """Read the station file again (after a settings change); used from the next start."""
        self.config = load_station_config(self.config_path)

    def apply_rules(self, recipe: Recipe) -> bool:
        """New thresholds for the running station (from its next part); False when none is running."""
        station = self._station
        if station is None:
            return False
        station.apply_rules(recipe)
        return True

    def change_product(self, recipe: Recipe) -> ChangeoverResult:
        """Change the running station over to ``recipe`` (blocks until ready or refused: not on the GUI thread)."""
        station = self._station
        if station is None:
            raise StationError("the station is not running")
        return station.change_product(recipe, "gui")

    def trigger_part(self, serial: str | None) -> None:
        """One part now (a manually triggered station); a StationError says why not."""
        station = self._station
        if station is None:
            raise StationError("Start the station first.")
        station.trigger_part(serial)

    def next_part_serial(self, serial: str) -> None:
        station = self._station
        if station is None:
            raise StationError("Start the station first: the serial goes on the next part it grabs.")
        station.next_part_serial(serial)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _fail(self, message: str) -> None:
        self.bridge.state.emit("fault", "")
        self.failed.emit(message)

    def _run(self, parts: int | None) -> None:
        bus = EventBus()
        bus.subscribe(self.bridge.deliver)
        try:
            self.bridge.state.emit("starting", "loading the model and opening the camera")
            station = Station(self.config, bus)  # model load, database, camera checks: seconds
        except Exception as exc:  # a StationError says what to fix; anything else must not vanish silently
            log.exception("the station could not be built")
            bus.close()
            self._fail(str(exc) if isinstance(exc, StationError) else f"unexpected {brief(exc)}")
            return
        self._station = station
        summary: RunSummary | None = None
        error: str | None = None
        try:
            if self._stop_requested.is_set():
                station.stop()
            summary = station.run(parts=parts)
        except Exception as exc:
            log.exception("the station stopped with an error")
            error = str(exc) if isinstance(exc, StationError) else f"unexpected {brief(exc)}"
        finally:
            self._station = None
            station.close()  # also drains the event bus: its last events reach the GUI before ours
        if error is not None or summary is None:
            self._fail(error or "the station stopped unexpectedly")
            return
        self.finished.emit(summary)
