"""The operator view: live image, the station's state, PASS/FAIL in words (the last FAIL held), shift
counters, camera and fault lines, the part serial, Trigger / Start / Stop, the active recipe and model;
the tools for engineers and admins. ``kiosk``: full screen without window chrome, left only by an
engineer; F5 start, F6 stop, F8 trigger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QMainWindow, QVBoxLayout, QWidget

from gui.accounts_dialog import AccountsDialog
from gui.admin_dialogs import AuditDialog
from gui.bridge import StationBridge
from gui.camera_dialog import CameraDialog
from gui.charts_window import ChartsWindow
from gui.controller import StationController
from gui.history_view import HistoryWindow
from gui.live_status import LiveStatus
from gui.login_dialog import FirstAdminDialog, LoginDialog
from gui.operator_panel import SidePanel
from gui.part_entry import PartEntry
from gui.product_switch import ProductDialog, ProductSwitch
from gui.record_detail import RecordDetailDialog
from gui.rules_dialog import RulesDialog
from gui.session import Session
from gui.settings_dialog import SettingsDialog
from gui.shift_tally import ShiftTally
from gui.station_state import StateTracker, triggered_by
from gui.teach_dialog import TeachDialog
from gui.theme import THEMES, Theme
from gui.widgets.fail_strip import FailStrip
from gui.widgets.image_view import ImageView
from inspection.config import StationConfig, load_recipe
from inspection.core.errors import StationError
from inspection.core.events import InspectionDone
from inspection.core.types import Image, InspectionRecord
from inspection.detectors.base import model_name
from inspection.recorder.accounts import User
from inspection.station.run_summary import RunSummary


class OperatorWindow(QMainWindow):
    def __init__(
        self,
        controller: StationController,
        bridge: StationBridge,
        session: Session,
        theme: Theme = THEMES["standard"],
        hold_s: float = 2.0,
        kiosk: bool = False,
    ) -> None:
        super().__init__()
        self.controller = controller
        self.bridge = bridge
        self.session = session
        self.kiosk = kiosk
        self.recipe = load_recipe(controller.config.recipe)
        self.setWindowTitle(f"Inspection station — {controller.config.station}")
        self.image = ImageView()
        self.fails = FailStrip()
        self.panel = SidePanel(theme, hold_s)
        self._alias_panel()
        self.charts: ChartsWindow | None = None
        self.history: HistoryWindow | None = None
        self.details: list[RecordDetailDialog] = []
        tally = ShiftTally(controller.config.shifts, controller.config.station, session.services.counts.recorded_since)
        tracker = StateTracker(triggered_by(controller.config))
        self.live = LiveStatus(bridge, self.panel, self.image, tracker, tally, parent=self, on_state=self._run_state)
        self.products = ProductSwitch(controller, session, self.live, self._station_file_saved)
        self.parts = PartEntry(controller, session, self.panel)
        self.live.recipe, self.live.camera_name = self.recipe, self.camera_name
        central = QWidget()
        layout = QHBoxLayout(central)
        left = QVBoxLayout()
        left.addWidget(self.image, 1)
        left.addWidget(self.fails)
        layout.addLayout(left, 5)
        layout.addWidget(self.panel, 3)
        self.setCentralWidget(central)
        self.setMinimumSize(1024, 700)
        self.resize(1280, 800)
        self._show_recipe()
        self._connect_buttons()
        self._connect_station(controller, bridge, session)
        self._apply_permissions(session.user)
        self.live.rebase()
        if kiosk:
            self.setWindowFlags(self.windowFlags() | Qt.WindowType.FramelessWindowHint)
            screen = self.screen()
            if screen is not None:  # full screen also where no window manager does it (a bare X server)
                self.setGeometry(screen.geometry())

    def _alias_panel(self) -> None:
        """The panel's widgets under the window's names (tests and tools use them)."""
        panel = self.panel
        self.verdict, self.counters, self.state = panel.verdict, panel.counters, panel.state
        self.message, self.alarms, self.serial = panel.message, panel.alarms, panel.serial
        self.start_button, self.stop_button, self.trigger_button = (
            panel.start_button, panel.stop_button, panel.trigger_button
        )  # fmt: skip
        tools = panel.tools
        self.history_button, self.charts_button, self.rules_button = tools["history"], tools["charts"], tools["rules"]
        self.settings_button, self.teach_button, self.audit_button = tools["settings"], tools["teach"], tools["audit"]
        self.users_button, self.exit_button, self.product_button = tools["users"], tools["exit"], tools["product"]
        self.camera_button = tools["camera"]
        self.exit_button.setVisible(self.kiosk)
        self.trigger_button.setVisible(self.controller.config.pipeline.trigger == "manual")
        self.camera_name = describe_camera(self.controller.config)

    def _show_recipe(self) -> None:
        self.panel.recipe.setText(
            f"Recipe <b>{self.recipe.name}</b> v{self.recipe.version}<br>Model <b>{model_name(self.recipe.model)}</b>"
        )
        self.panel.camera.setText(f"camera {self.camera_name}")

    def _connect_buttons(self) -> None:
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.trigger_button.clicked.connect(self.trigger_part)
        self.history_button.clicked.connect(self.open_history)
        self.charts_button.clicked.connect(self.open_charts)
        self.panel.login_button.clicked.connect(self.toggle_login)
        self.rules_button.clicked.connect(self.open_rules)
        self.product_button.clicked.connect(self.open_products)
        self.settings_button.clicked.connect(self.open_settings)
        self.teach_button.clicked.connect(self.open_teach)
        self.camera_button.clicked.connect(self.open_camera)
        self.audit_button.clicked.connect(self.open_audit)
        self.users_button.clicked.connect(self.open_users)
        self.exit_button.clicked.connect(self.exit_kiosk)
        shortcuts = {Qt.Key.Key_F5: self.start, Qt.Key.Key_F6: self.stop, Qt.Key.Key_F8: self.trigger_part}
        for key, action in shortcuts.items():
            QShortcut(QKeySequence(key), self).activated.connect(action)

    def _connect_station(self, controller: StationController, bridge: StationBridge, session: Session) -> None:
        session.changed.connect(self._apply_permissions)
        bridge.failed_part.connect(self.fails.add)
        bridge.latest_ready.connect(self.fails.refresh)
        self.fails.opened.connect(self.open_part)
        self.alarms.load(session.services.edits.open_alarms(controller.config.station))  # from before a restart
        bridge.alert.connect(self.alarms.raised)
        bridge.alert_cleared.connect(self.alarms.cleared)
        self.alarms.acknowledge_requested.connect(self.acknowledge_alert)
        controller.failed.connect(self._show_error)
        session.audit_failed.connect(lambda text: self.panel.say(text, "error"))
        controller.finished.connect(self._finished)

    @property
    def latest(self) -> InspectionDone | None:
        """The newest part shown (for the rules preview)."""
        return self.live.latest

    @property
    def shown(self) -> int:
        return self.live.shown

    # ------------------------------------------------------------ actions
    def start(self, parts: int | None = None) -> None:
        if not self.session.may("run"):
            self.panel.say("Log in to start the station.", "error")
            return
        if self.controller.running:
            return
        self.panel.say("")
        self.session.audit("start", {"station": self.controller.config.station})
        self.live.live = (0, 0)
        self.live.rebase()  # the shift so far, from the database: the counters go on where they were
        self.teach_button.setEnabled(False)
        self.camera_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.controller.start(parts if isinstance(parts, int) and not isinstance(parts, bool) else None)

    def stop(self) -> None:
        """Stop first, then audit: a database that cannot take the entry never keeps the line running."""
        if not self.controller.running:
            return
        self.stop_button.setEnabled(False)
        self.controller.stop()
        self.session.audit("stop", {"station": self.controller.config.station})

    def open_history(self) -> HistoryWindow | None:
        if self.session.user is None:
            self.panel.say("Log in to see the history.", "error")
            return None
        if self.history is None:
            self.history = HistoryWindow(self.session.services.records, self.session, self.recipe.classes)
        else:
            self.history.refresh_labels()
            self.history.apply_filter()
        self.history.show()
        self.history.raise_()
        return self.history

    def open_charts(self) -> ChartsWindow | None:
        if self.session.user is None:
            self.panel.say("Log in to see the charts.", "error")
            return None
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
            self.panel.say(
                "This station's accounts were removed outside the app; restore its database from a backup.", "error"
            )
            return
        first_run = not accounts.has_users()
        dialog = FirstAdminDialog(self.session, self) if first_run else LoginDialog(self.session, self)
        dialog.open()
        self.login_dialog: QDialog = dialog

    def open_rules(self) -> RulesDialog | None:
        if not self._allowed("thresholds", "thresholds", "Only engineers and admins change the rules."):
            return None
        recent, scale = list(self.bridge.recent), self.controller.config.measurement.mm_per_px
        scale = scale or (self.latest.record.mm_per_px if self.latest else None)  # or the calibration's
        dialog = RulesDialog(self.session, self.controller.config.recipe, self.latest, self, recent, scale)
        dialog.accepted.connect(lambda: self._rules_saved(dialog))
        dialog.open()
        return dialog

    def open_products(self) -> ProductDialog | None:
        if not self._allowed("station", "product_change", "Only engineers and admins switch the product."):
            return None
        dialog = ProductDialog(self.controller.config, self)
        dialog.accepted.connect(lambda: self.products.switch(dialog.chosen) if dialog.chosen else None)
        dialog.open()
        return dialog

    def open_settings(self) -> SettingsDialog | None:
        if not self._allowed("station", "station", "Only engineers and admins change the station settings."):
            return None
        dialog = SettingsDialog(self.session, self.controller.config_path, self.controller.config, parent=self)
        dialog.accepted.connect(lambda: self._station_file_saved("Settings saved; they apply at the next start."))
        dialog.open()
        return dialog

    def open_teach(self) -> QDialog | None:
        """Teach a new product (engineers; the station is stopped meanwhile: the camera is the teach-in's)."""
        return self._with_camera("product_teach", "teach products", "teaching a product uses its camera",
                                 lambda: TeachDialog(self.session, self.controller.config_path, self.controller.config,
                                                     parent=self),
                                 "Product {recipe} taught; the station runs it from the next start.")  # fmt: skip

    def open_camera(self) -> QDialog | None:
        """Camera settings with the live image (engineers; the station stopped: the camera is the preview's)."""
        return self._with_camera("camera_settings", "change the camera", "the live preview uses its camera",
                                 lambda: CameraDialog(self.session, self.controller.config_path,
                                                      self.controller.config, self),
                                 "Camera settings saved; they apply at the next start.")  # fmt: skip

    def _with_camera(self, action: str, what: str, why: str, make: Callable[[], QDialog], saved: str) -> QDialog | None:
        """A dialog that needs the station's camera: for engineers, with the station stopped."""
        if not self._allowed("station", action, f"Only engineers and admins {what}."):
            return None
        if self.controller.running:
            self.panel.say(f"Stop the station first: {why}.", "error")
            return None
        dialog = make()
        dialog.accepted.connect(lambda: self._station_file_saved(saved))
        dialog.open()
        return dialog

    def _allowed(self, permission: str, action: str, refusal: str) -> bool:
        """Whether the logged-in role may; a refusal is audited and said."""
        if self.session.may(permission):
            return True
        self.session.audit("denied", {"action": action, "station": self.controller.config.station})
        self.panel.say(refusal, "error")
        return False

    def _station_file_saved(self, message: str) -> None:
        """The station file changed (settings, a taught product): read it and its recipe again; ``message``
        may name the recipe as ``{recipe}``."""
        self.controller.reload()
        self.recipe = load_recipe(self.controller.config.recipe)
        self.camera_name = describe_camera(self.controller.config)
        self.live.recipe, self.live.camera_name = self.recipe, self.camera_name
        self._show_recipe()
        self.panel.say(message.format(recipe=self.recipe.name), "success")

    def open_audit(self) -> AuditDialog | None:
        if not self._allowed("audit", "audit", "Only engineers and admins read the audit trail."):
            return None
        dialog = AuditDialog(self.session, self)
        dialog.open()
        return dialog

    def open_users(self) -> AccountsDialog | None:
        if not self._allowed("users", "users", "Only admins manage accounts."):
            return None
        dialog = AccountsDialog(self.session, self)
        dialog.open()
        return dialog

    def _rules_saved(self, dialog: RulesDialog) -> None:
        if dialog.saved is None:
            return
        self.recipe = dialog.saved
        self.live.recipe = dialog.saved
        self._show_recipe()
        live = self.controller.apply_rules(dialog.saved)
        self.panel.say("Rules saved" + (" and applied from the next part." if live else "."), "success")

    def _apply_permissions(self, user: User | None) -> None:
        self.panel.user_label.setText("not logged in" if user is None else f"{user.username} ({user.role})")
        self.panel.login_button.setText("Log in" if user is None else "Log out")
        running = self.controller.running
        self.history_button.setEnabled(user is not None)
        self.charts_button.setEnabled(user is not None)
        self.exit_button.setEnabled(self.session.may("station"))
        self.trigger_button.setEnabled(self.session.may("run"))
        self.serial.setEnabled(self.session.may("run"))
        self.start_button.setEnabled(self.session.may("run") and not running)
        self.stop_button.setEnabled(running)  # stopping is always allowed: it loses nothing
        self.rules_button.setEnabled(self.session.may("thresholds"))
        self.product_button.setEnabled(self.session.may("station"))
        self.settings_button.setEnabled(self.session.may("station"))
        self.teach_button.setEnabled(self.session.may("station") and not running)
        self.camera_button.setEnabled(self.session.may("station") and not running)
        self.audit_button.setEnabled(self.session.may("audit"))
        self.users_button.setEnabled(self.session.may("users"))
        self.alarms.allow_acknowledge(user is not None)

    def trigger_part(self) -> None:
        """One part now (F8), with the serial typed or scanned."""
        self.parts.trigger()

    def exit_kiosk(self) -> None:
        """Leave the kiosk (engineers and admins: an operator cannot close the cell's screen)."""
        if not self._allowed("station", "kiosk_exit", "Only engineers and admins leave the kiosk."):
            return
        self.session.audit("kiosk_exit", {"station": self.controller.config.station})
        self.kiosk = False
        self.close()

    def acknowledge_alert(self, alert_id: int, note: str = "") -> None:
        """The logged-in person has seen the alarm: recorded with their name, the time and the note; it
        stays on the list while its condition lasts."""
        if self.session.user is None:
            return
        try:
            self.session.services.edits.acknowledge_alert(alert_id, self.session.user.username, note)
        except StationError as exc:  # e.g. acknowledged meanwhile with 'inspection alerts ack'
            self.panel.say(str(exc), "error")
        self.alarms.acknowledged(alert_id, self.session.user.username)

    def closeEvent(self, event: Any) -> None:
        """Closing the window stops the station and lets it record every part it grabbed. In the kiosk,
        only Exit (an engineer) closes it."""
        if self.kiosk:
            self.session.audit("denied", {"action": "kiosk_close", "station": self.controller.config.station})
            event.ignore()
            return
        self.controller.stop()
        self.controller.wait(30)
        super().closeEvent(event)

    # ------------------------------------------------------------ events (GUI thread)
    def _run_state(self, state: str) -> None:
        if state == "stopped":
            self.start_button.setEnabled(self.session.may("run"))
            self.stop_button.setEnabled(False)
            self.teach_button.setEnabled(self.session.may("station"))
            self.camera_button.setEnabled(self.session.may("station"))

    def _show_error(self, message: str) -> None:
        self.live.failed(message)
        self.panel.say(message, "error")
        self.start_button.setEnabled(self.session.may("run"))
        self.stop_button.setEnabled(False)

    def _finished(self, summary: RunSummary) -> None:
        self.live.live = (summary.stats.parts, summary.stats.failed)  # also those still waiting in the spill
        self.live.show_shift()
        self.fails.refresh()


def describe_camera(config: StationConfig) -> str:
    return config.camera.label()
