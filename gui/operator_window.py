"""The operator view: live image, PASS/FAIL with the reason, shift counters, station and camera
state with the fault counters, start/stop, the active recipe and model."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.admin_dialogs import AddUserDialog, AuditDialog
from gui.bridge import StationBridge
from gui.charts_window import ChartsWindow
from gui.controller import StationController
from gui.history_view import HistoryWindow
from gui.login_dialog import FirstAdminDialog, LoginDialog
from gui.record_detail import RecordDetailDialog
from gui.rules_dialog import RulesDialog
from gui.session import Session
from gui.settings_dialog import SettingsDialog
from gui.teach_dialog import TeachDialog
from gui.widgets.alert_banner import AlertBanner
from gui.widgets.counters import CountersPanel
from gui.widgets.fail_strip import FailStrip
from gui.widgets.image_view import ImageView
from gui.widgets.verdict import VerdictIndicator
from inspection.config import StationConfig, load_recipe
from inspection.core.errors import StationError
from inspection.core.events import InspectionDone
from inspection.core.status import CameraCounts, StationStatus
from inspection.core.types import Image, InspectionRecord
from inspection.detectors.base import model_name
from inspection.recorder.accounts import User
from inspection.station.pipeline import RunSummary

LIVE_VIEW_HZ = 10
STATE_STYLE = {
    "running": "color: #1b8a2e;",
    "starting": "color: #f9a825;",
    "stopping": "color: #f9a825;",
    "stopped": "color: #757575;",
    "fault": "color: #c62828;",
}


class OperatorWindow(QMainWindow):
    def __init__(self, controller: StationController, bridge: StationBridge, session: Session) -> None:
        super().__init__()
        self.controller = controller
        self.bridge = bridge
        self.session = session
        self.latest: InspectionDone | None = None  # the newest part shown (for the rules preview)
        self.recipe = load_recipe(controller.config.recipe)
        self.shown = 0  # parts drawn in the live view (the newest only; never a backlog)
        self.setWindowTitle(f"Inspection station — {controller.config.station}")
        self._make_widgets()
        central = QWidget()
        layout = QHBoxLayout(central)
        left = QVBoxLayout()
        left.addWidget(self.image, 1)
        left.addWidget(self.fails)
        layout.addLayout(left, 1)
        layout.addWidget(self._side_panel())
        self.setCentralWidget(central)
        self.resize(1280, 800)
        self._connect_buttons()
        self._connect_station(controller, bridge, session)
        self._apply_permissions(session.user)

    def _make_widgets(self) -> None:

        self.image = ImageView()
        self.fails = FailStrip()
        self.history_button = QPushButton("History")
        self.user_label = QLabel("not logged in")
        self.login_button = QPushButton("Log in")
        self.rules_button = QPushButton("Rules")
        self.audit_button = QPushButton("Audit")
        self.users_button = QPushButton("Users")
        self.charts_button = QPushButton("Charts")
        self.settings_button = QPushButton("Settings")
        self.teach_button = QPushButton("Teach")
        self.teach_button.setToolTip("Teach a new product from good parts (engineers; the station stopped)")
        self.charts: ChartsWindow | None = None
        self.history: HistoryWindow | None = None
        self.details: list[RecordDetailDialog] = []
        self.verdict = VerdictIndicator()
        self.counters = CountersPanel()
        self.state = QLabel("stopped")
        self.state.setStyleSheet("font-size: 18pt; font-weight: bold;" + STATE_STYLE["stopped"])
        self.camera_name = describe_camera(self.controller.config)
        self.camera = QLabel(f"camera {self.camera_name}")
        self.faults = QLabel("faults: 0")
        self.faults.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c62828;")
        self.alert_banner = AlertBanner()
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        for button in (self.start_button, self.stop_button):
            button.setMinimumHeight(56)
            button.setStyleSheet("font-size: 18pt;")
        self.stop_button.setEnabled(False)

    def _side_panel(self) -> QWidget:
        """Verdict, counters, state, recipe and messages; the tools and start/stop at the bottom."""
        recipe = QLabel(
            f"Recipe <b>{self.recipe.name}</b> v{self.recipe.version}<br>Model <b>{model_name(self.recipe.model)}</b>"
        )
        recipe.setTextFormat(Qt.TextFormat.RichText)

        side = QVBoxLayout()
        account = QHBoxLayout()
        account.addWidget(self.user_label, 1)
        account.addWidget(self.login_button)
        side.addLayout(account)
        side.addWidget(self.verdict)
        side.addWidget(self.counters)
        side.addWidget(self.state)
        side.addWidget(self.camera)
        side.addWidget(self.faults)
        side.addWidget(recipe)
        side.addWidget(self.message)
        side.addWidget(self.alert_banner)
        side.addStretch(1)
        tools = QHBoxLayout()
        for button in (
            self.history_button,
            self.charts_button,
            self.rules_button,
            self.settings_button,
            self.teach_button,
            self.audit_button,
            self.users_button,
        ):
            tools.addWidget(button)
        side.addLayout(tools)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        side.addLayout(buttons)
        panel = QWidget()
        panel.setLayout(side)
        panel.setFixedWidth(420)
        return panel

    def _connect_buttons(self) -> None:
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.history_button.clicked.connect(self.open_history)
        self.charts_button.clicked.connect(self.open_charts)
        self.login_button.clicked.connect(self.toggle_login)
        self.rules_button.clicked.connect(self.open_rules)
        self.settings_button.clicked.connect(self.open_settings)
        self.teach_button.clicked.connect(self.open_teach)
        self.audit_button.clicked.connect(self.open_audit)
        self.users_button.clicked.connect(self.open_users)

    def _connect_station(self, controller: StationController, bridge: StationBridge, session: Session) -> None:
        session.changed.connect(self._apply_permissions)
        bridge.failed_part.connect(self.fails.add)
        self.fails.opened.connect(self.open_part)
        # The live view redraws at most LIVE_VIEW_HZ times a second: people cannot read more, and every
        # redraw takes CPU from the station (measured in benchmarks/gui_overhead.py).
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.timeout.connect(self._show_latest)
        self._last_paint = 0.0
        bridge.latest_ready.connect(self._schedule_latest)
        bridge.stats.connect(self._show_stats)
        bridge.state.connect(self._show_state)
        bridge.fault.connect(self._show_fault)
        bridge.line_fault.connect(self._show_line_fault)
        bridge.alert.connect(self.alert_banner.raised)
        bridge.alert_cleared.connect(self.alert_banner.cleared)
        self.alert_banner.acknowledge_requested.connect(self.acknowledge_alert)
        controller.failed.connect(self._show_error)
        session.audit_failed.connect(self.message.setText)
        controller.finished.connect(self._finished)

    # ------------------------------------------------------------ actions
    def start(self, parts: int | None = None) -> None:
        if not self.session.may("run"):
            self.message.setText("Log in to start the station.")
            return
        self.message.setText("")
        self.session.audit("start", {"station": self.controller.config.station})
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.controller.start(parts if isinstance(parts, int) and not isinstance(parts, bool) else None)

    def stop(self) -> None:
        """Stop first, then audit: a database that cannot take the entry never keeps the line running."""
        self.stop_button.setEnabled(False)
        self.controller.stop()
        self.session.audit("stop", {"station": self.controller.config.station})

    def open_history(self) -> HistoryWindow:
        if self.history is None:
            self.history = HistoryWindow(self.session.services.records, self.session, self.recipe.classes)
        else:
            self.history.refresh_labels()
            self.history.apply_filter()
        self.history.show()
        self.history.raise_()
        return self.history

    def open_charts(self) -> ChartsWindow:
        if self.charts is None:
            self.charts = ChartsWindow(self.session.services.records)
        else:
            self.charts.refresh()
        self.charts.show()
        return self.charts

    def open_part(self, record: InspectionRecord, image: Image) -> RecordDetailDialog:
        dialog = RecordDetailDialog.from_record(record, image, self, self.session, self.recipe.classes)
        self.details.append(dialog)
        dialog.show()
        return dialog

    def toggle_login(self) -> None:
        if self.session.user is not None:
            self.session.log_out()
            return
        accounts = self.session.services.accounts
        if accounts.accounts_were_removed():
            self.message.setText(
                "This station's accounts were removed outside the app; restore its database from a backup."
            )
            return
        first_run = not accounts.has_users()
        dialog = FirstAdminDialog(self.session, self) if first_run else LoginDialog(self.session, self)
        dialog.open()
        self.login_dialog: QDialog = dialog

    def open_rules(self) -> RulesDialog | None:
        if not self.session.may("thresholds"):
            self.session.audit("denied", {"action": "thresholds", "recipe": str(self.controller.config.recipe)})
            self.message.setText("Only engineers and admins change the rules.")
            return None
        dialog = RulesDialog(self.session, self.controller.config.recipe, self.latest, self)
        dialog.accepted.connect(lambda: self._rules_saved(dialog))
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog | None:
        if not self.session.may("station"):
            self.session.audit("denied", {"action": "station", "station": str(self.controller.config_path)})
            self.message.setText("Only engineers and admins change the station settings.")
            return None
        dialog = SettingsDialog(self.session, self.controller.config_path, self.controller.config, parent=self)
        dialog.accepted.connect(lambda: self._station_file_saved("Settings saved; they apply at the next start."))
        dialog.open()
        return dialog

    def open_teach(self) -> TeachDialog | None:
        """Teach a new product (engineers; the station is stopped meanwhile: the camera is the teach-in's)."""
        if not self.session.may("station"):
            self.session.audit("denied", {"action": "product_teach", "station": str(self.controller.config_path)})
            self.message.setText("Only engineers and admins teach products.")
            return None
        if self.controller.running:
            self.message.setText("Stop the station first: teaching a product uses its camera.")
            return None
        dialog = TeachDialog(self.session, self.controller.config_path, self.controller.config, parent=self)
        dialog.accepted.connect(
            lambda: self._station_file_saved("Product {recipe} taught; the station runs it from the next start.")
        )
        dialog.open()
        return dialog

    def _station_file_saved(self, message: str) -> None:
        """The station file changed (settings, a taught product): read it and its recipe again; ``message``
        may name the recipe as ``{recipe}``."""
        self.controller.reload()
        self.recipe = load_recipe(self.controller.config.recipe)
        self.camera_name = describe_camera(self.controller.config)
        self.message.setText(message.format(recipe=self.recipe.name))

    def open_audit(self) -> AuditDialog:
        dialog = AuditDialog(self.session, self)
        dialog.open()
        return dialog

    def open_users(self) -> AddUserDialog:
        dialog = AddUserDialog(self.session, self)
        dialog.open()
        return dialog

    def _rules_saved(self, dialog: RulesDialog) -> None:
        if dialog.saved is None:
            return
        self.recipe = dialog.saved
        live = self.controller.apply_rules(dialog.saved)
        self.message.setText("Rules saved" + (" and applied from the next part." if live else "."))

    def _apply_permissions(self, user: User | None) -> None:
        self.user_label.setText("not logged in" if user is None else f"{user.username} ({user.role})")
        self.login_button.setText("Log in" if user is None else "Log out")
        running = self.controller.running
        self.start_button.setEnabled(self.session.may("run") and not running)
        self.stop_button.setEnabled(running)  # stopping is always allowed: it loses nothing
        self.rules_button.setEnabled(self.session.may("thresholds"))
        self.settings_button.setEnabled(self.session.may("station"))
        self.teach_button.setEnabled(self.session.may("station") and not running)
        self.audit_button.setEnabled(self.session.may("audit"))
        self.users_button.setEnabled(self.session.may("users"))
        self.alert_banner.allow_acknowledge(user is not None)

    def closeEvent(self, event: Any) -> None:
        """Closing the window stops the station and lets it record every part it grabbed."""
        self.controller.stop()
        self.controller.wait(30)
        super().closeEvent(event)

    # ------------------------------------------------------------ events (GUI thread)
    def _schedule_latest(self) -> None:
        if self._repaint.isActive():
            return
        wait_ms = max(0.0, 1000.0 / LIVE_VIEW_HZ - 1000.0 * (time.monotonic() - self._last_paint))
        self._repaint.start(int(wait_ms))

    def _show_latest(self) -> None:
        self._last_paint = time.monotonic()
        self.fails.refresh()
        done = self.bridge.take_latest()
        if done is None:
            return
        self.latest = done
        record = done.record
        kept = set(record.kept)
        if done.frame is not None:
            boxes = [(d, d in kept) for d in record.detections]
            self.image.show_part(done.frame.image, boxes, self.recipe.roi, done.record.anomaly_map)
        self.verdict.show_verdict(record.verdict.value, record.reasons)
        self.counters.show_cycle(record.latencies_ms.get("cycle", 0.0))
        self.shown += 1

    def _show_stats(self, status: StationStatus) -> None:
        self.counters.show_stats(status.counts)
        camera = status.camera
        self.camera.setText(f"camera {self.camera_name}: {camera.state}, {camera.frames} frames")
        self.faults.setText(_faults(camera))

    def _show_state(self, state: str, detail: str) -> None:
        self.state.setText(state if not detail else f"{state}: {detail}")
        self.state.setStyleSheet("font-size: 18pt; font-weight: bold;" + STATE_STYLE.get(state, ""))
        if state in ("stopped", "fault"):
            self.start_button.setEnabled(self.session.may("run"))
            self.stop_button.setEnabled(False)

    def _show_fault(self, camera: str, message: str, counters: CameraCounts) -> None:
        self.faults.setText(_faults(counters))
        self.message.setText(f"{camera}: {message}")

    def _show_line_fault(self, source: str, message: str) -> None:
        """A PLC, MQTT or fleet fault: the line may be waiting on it."""
        self.message.setText(f"{source}: {message}")

    def acknowledge_alert(self, alert_id: int) -> None:
        """The logged-in person has seen the alert: recorded with their name and the time."""
        if self.session.user is None:
            return
        try:
            self.session.services.edits.acknowledge_alert(alert_id, self.session.user.username)
        except StationError as exc:  # e.g. acknowledged meanwhile with 'inspection alerts ack'
            self.message.setText(str(exc))
        self.alert_banner.remove(alert_id)

    def _show_error(self, message: str) -> None:
        self.message.setText(message)
        self.start_button.setEnabled(self.session.may("run"))
        self.stop_button.setEnabled(False)

    def _finished(self, summary: RunSummary) -> None:
        self.counters.show_stats(summary.stats)
        self.fails.refresh()


def describe_camera(config: StationConfig) -> str:
    return config.camera.label()


def _faults(counters: CameraCounts) -> str:
    parts = ", ".join(
        f"{name.replace('_', ' ')} {getattr(counters, name)}"
        for name in ("failed_grabs", "incomplete_buffers", "timeouts", "unreadable_images", "disconnects", "reconnects")
    )
    return f"faults: {counters.faults} ({parts})"
