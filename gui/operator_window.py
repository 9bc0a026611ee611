"""The operator view: live image, PASS/FAIL with the reason, shift counters, station and camera
state with the fault counters, start/stop, the active recipe and model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.bridge import StationBridge
from gui.controller import StationController
from gui.history_view import HistoryWindow
from gui.record_detail import RecordDetailDialog
from gui.widgets.counters import CountersPanel
from gui.widgets.fail_strip import FailStrip
from gui.widgets.image_view import ImageView
from gui.widgets.verdict import VerdictIndicator
from inspection.config import StationConfig, load_recipe
from inspection.pipeline import RunSummary
from inspection.recorder.database import open_database
from inspection.types import Image, InspectionRecord

STATE_STYLE = {
    "running": "color: #1b8a2e;",
    "starting": "color: #f9a825;",
    "stopping": "color: #f9a825;",
    "stopped": "color: #757575;",
    "fault": "color: #c62828;",
}


class OperatorWindow(QMainWindow):
    def __init__(self, controller: StationController, bridge: StationBridge) -> None:
        super().__init__()
        self.controller = controller
        self.bridge = bridge
        self.recipe = load_recipe(controller.config.recipe)
        self.shown = 0  # parts drawn in the live view (the newest only; never a backlog)
        self.setWindowTitle(f"Inspection station — {controller.config.station}")

        self.image = ImageView()
        self.fails = FailStrip()
        self.history_button = QPushButton("History")
        self.history: HistoryWindow | None = None
        self.details: list[RecordDetailDialog] = []
        self.verdict = VerdictIndicator()
        self.counters = CountersPanel()
        self.state = QLabel("stopped")
        self.state.setStyleSheet("font-size: 18pt; font-weight: bold;" + STATE_STYLE["stopped"])
        self.camera_name = describe_camera(controller.config)
        self.camera = QLabel(f"camera {self.camera_name}")
        self.faults = QLabel("faults: 0")
        self.faults.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c62828;")
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        for button in (self.start_button, self.stop_button):
            button.setMinimumHeight(56)
            button.setStyleSheet("font-size: 18pt;")
        self.stop_button.setEnabled(False)
        recipe = QLabel(
            f"Recipe <b>{self.recipe.name}</b> v{self.recipe.version}<br>Model <b>{self.recipe.model.parent.name}/"
            f"{self.recipe.model.name}</b>"
        )
        recipe.setTextFormat(Qt.TextFormat.RichText)

        side = QVBoxLayout()
        side.addWidget(self.verdict)
        side.addWidget(self.counters)
        side.addWidget(self.state)
        side.addWidget(self.camera)
        side.addWidget(self.faults)
        side.addWidget(recipe)
        side.addWidget(self.message)
        side.addStretch(1)
        side.addWidget(self.history_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        side.addLayout(buttons)
        panel = QWidget()
        panel.setLayout(side)
        panel.setFixedWidth(420)
        central = QWidget()
        layout = QHBoxLayout(central)
        left = QVBoxLayout()
        left.addWidget(self.image, 1)
        left.addWidget(self.fails)
        layout.addLayout(left, 1)
        layout.addWidget(panel)
        self.setCentralWidget(central)
        self.resize(1280, 800)

        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.history_button.clicked.connect(self.open_history)
        bridge.failed_part.connect(self.fails.add)
        self.fails.opened.connect(self.open_part)
        bridge.latest_ready.connect(self._show_latest)
        bridge.stats.connect(self._show_stats)
        bridge.state.connect(self._show_state)
        bridge.fault.connect(self._show_fault)
        controller.failed.connect(self._show_error)
        controller.finished.connect(self._finished)

    # ------------------------------------------------------------ actions
    def start(self, parts: int | None = None) -> None:
        self.message.setText("")
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.controller.start(parts if isinstance(parts, int) and not isinstance(parts, bool) else None)

    def stop(self) -> None:
        self.stop_button.setEnabled(False)
        self.controller.stop()

    def open_history(self) -> HistoryWindow:
        if self.history is None:
            storage = self.controller.config.storage
            engine = open_database(storage.resolved_database_url())
            self.history = HistoryWindow(engine, storage.data_dir)
        else:
            self.history.refresh_labels()
            self.history.apply_filter()
        self.history.show()
        self.history.raise_()
        return self.history

    def open_part(self, record: InspectionRecord, image: Image) -> RecordDetailDialog:
        dialog = RecordDetailDialog.from_record(record, image, self)
        self.details.append(dialog)
        dialog.show()
        return dialog

    def closeEvent(self, event: Any) -> None:
        """Closing the window stops the station and lets it record every part it grabbed."""
        self.controller.stop()
        self.controller.wait(30)
        super().closeEvent(event)

    # ------------------------------------------------------------ events (GUI thread)
    def _show_latest(self) -> None:
        done = self.bridge.take_latest()
        if done is None:
            return
        record = done.record
        kept = set(record.kept)
        if done.frame is not None:
            boxes = [(d, d in kept) for d in record.detections]
            self.image.show_part(done.frame.image, boxes, self.recipe.roi)
        self.verdict.show_verdict(record.verdict.value, record.reasons)
        self.counters.show_cycle(record.latencies_ms.get("cycle", 0.0))
        self.shown += 1

    def _show_stats(self, stats: dict[str, Any]) -> None:
        self.counters.show_stats(stats)
        camera = stats.get("camera", {})
        if isinstance(camera, dict):
            self.camera.setText(
                f"camera {self.camera_name}: {camera.get('state', '—')}, {camera.get('frames', 0)} frames"
            )
            self.faults.setText(_faults(camera))

    def _show_state(self, state: str, detail: str) -> None:
        self.state.setText(state if not detail else f"{state}: {detail}")
        self.state.setStyleSheet("font-size: 18pt; font-weight: bold;" + STATE_STYLE.get(state, ""))
        if state in ("stopped", "fault"):
            self.start_button.setEnabled(True)
            self.stop_button.setEnabled(False)

    def _show_fault(self, camera: str, message: str, counters: dict[str, Any]) -> None:
        self.faults.setText(_faults(counters))
        self.message.setText(f"{camera}: {message}")

    def _show_error(self, message: str) -> None:
        self.message.setText(message)
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)

    def _finished(self, summary: RunSummary) -> None:
        self.counters.show_stats(summary.stats)


def describe_camera(config: StationConfig) -> str:
    camera = config.camera
    for attribute in ("serial", "source", "path"):
        value = getattr(camera, attribute, None)
        if value:
            text = Path(str(value)).name if attribute == "path" else str(value)
            if "://" in text and "@" in text:  # never show stream credentials
                scheme, rest = text.split("://", 1)
                text = f"{scheme}://{rest.split('@', 1)[1]}"
            return f"{camera.type} {text}"
    return camera.type


def _faults(counters: dict[str, Any]) -> str:
    total = counters.get("faults", 0)
    parts = ", ".join(
        f"{name.replace('_', ' ')} {counters[name]}"
        for name in ("failed_grabs", "incomplete_buffers", "timeouts", "disconnects", "reconnects")
        if name in counters
    )
    return f"faults: {total}" + (f" ({parts})" if parts else "")
