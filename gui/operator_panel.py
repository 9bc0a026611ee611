"""The operator window's side panel: the widgets only (the window connects them).

From the top: the account, the station state, the verdict (held FAIL, FAILs in the last minute), the
shift counters, camera and faults, recipe and model, messages, the alert banner, the part serial, the
tools, and Trigger / Start / Stop."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from gui.theme import Theme
from gui.widgets.alarm_list import AlarmList
from gui.widgets.counters import CountersPanel
from gui.widgets.state_area import StateArea
from gui.widgets.verdict import VerdictIndicator

TOOLS = {  # name -> (title, tooltip)
    "history": ("History", "Recorded parts (after login)"),
    "charts": ("Charts", "Yield and defect charts (after login)"),
    "product": ("Product", "Switch the product (engineers): the station restarts on its recipe"),
    "rules": ("Rules", "Change the recipe's rules (engineers)"),
    "settings": ("Settings", "Station settings (engineers)"),
    "camera": ("Camera", "Exposure, gain and trigger with the live image (engineers; the station stopped)"),
    "teach": ("Teach", "Teach a new product from good parts (engineers; the station stopped)"),
    "audit": ("Audit", "The audit trail (admins)"),
    "users": ("Users", "Add accounts (admins)"),
    "exit": ("Exit", "Leave the kiosk (engineers)"),
}


class SidePanel(QWidget):
    def __init__(self, theme: Theme, hold_s: float) -> None:
        super().__init__()
        self.theme = theme
        self.user_label = QLabel("not logged in")
        self.login_button = QPushButton("Log in")
        self.state = StateArea(theme)
        self.verdict = VerdictIndicator(theme, hold_s)
        self.counters = CountersPanel()
        self.camera = QLabel("")
        self.faults = QLabel("faults: 0")
        self.faults.setWordWrap(True)
        self.recipe = QLabel("")
        self.recipe.setTextFormat(Qt.TextFormat.RichText)
        self.recipe.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.alarms = AlarmList()
        self.serial = QLineEdit()
        self.serial.setPlaceholderText("part serial (type or scan; Enter)")
        self.tools = {name: QPushButton(title) for name, (title, _) in TOOLS.items()}
        for name, (_, tip) in TOOLS.items():
            self.tools[name].setToolTip(tip)
        self.trigger_button = QPushButton("Trigger")
        self.trigger_button.setToolTip("Take one part now (F8; stations with pipeline.trigger: manual)")
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Start the station (F5)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the station (F6); parts already grabbed are still recorded")
        for button in (self.trigger_button, self.start_button, self.stop_button):
            button.setMinimumHeight(56)
            button.setStyleSheet("font-size: 18pt;")
        self.stop_button.setEnabled(False)
        self.setLayout(self._layout())
        self.setMinimumWidth(400)
        self.setMaximumWidth(640)

    def _layout(self) -> QVBoxLayout:
        side = QVBoxLayout()
        account = QHBoxLayout()
        account.addWidget(self.user_label, 1)
        account.addWidget(self.login_button)
        side.addLayout(account)
        side.addWidget(self.state)
        side.addWidget(self.verdict, 1)  # the verdict takes the room the screen has
        for widget in (self.alarms, self.counters, self.camera, self.faults, self.recipe, self.message):
            side.addWidget(widget)
        side.addWidget(self.serial)
        tools = QGridLayout()
        for index, button in enumerate(self.tools.values()):  # two rows: every title readable
            tools.addWidget(button, index // 5, index % 5)
        side.addLayout(tools)
        buttons = QHBoxLayout()
        for button in (self.trigger_button, self.start_button, self.stop_button):
            buttons.addWidget(button)
        side.addLayout(buttons)
        return side

    def say(self, text: str, kind: str = "info") -> None:
        """A message for the operator: ``info``, ``success`` or ``error`` (each its own colour)."""
        self.message.setText(text)
        self.message.setStyleSheet(self.theme.message(kind) + " font-size: 12pt;")
        self.message_kind = kind
