"""The station's state in one unmistakable block: colour and words (RUNNING, CAMERA FAULT, ...)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.station_state import ShownState
from gui.theme import THEMES, Theme


class StateArea(QWidget):
    def __init__(self, theme: Theme = THEMES["standard"]) -> None:
        super().__init__()
        self.theme = theme
        self.title = QLabel("STOPPED")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setFixedHeight(56)
        self.detail = QLabel("")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setFixedHeight(26)  # one line, elided (the whole text in its tooltip)
        self.detail.setStyleSheet("font-size: 12pt;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        self.shown = ShownState("stopped")
        self.show_state(self.shown)

    def show_state(self, shown: ShownState) -> None:
        self.shown = shown
        self.title.setText(shown.title)
        self.title.setStyleSheet(f"{self.theme.block(shown.kind)} font-size: 24pt; font-weight: bold;")
        width = max(self.detail.width(), 360)
        self.detail.setText(self.detail.fontMetrics().elidedText(shown.detail, Qt.TextElideMode.ElideRight, width))
        self.detail.setToolTip(shown.detail)
