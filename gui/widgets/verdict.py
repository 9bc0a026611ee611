"""The large PASS / FAIL indicator with the reason, readable from across the cell."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

STYLES = {
    "pass": "background: #1b8a2e; color: white;",
    "fail": "background: #c62828; color: white;",
    "idle": "background: #424242; color: #bdbdbd;",
}


class VerdictIndicator(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.verdict = QLabel("—")
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict.setMinimumHeight(140)
        self.reason = QLabel("")
        self.reason.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("font-size: 16pt;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.verdict)
        layout.addWidget(self.reason)
        self.show_idle()

    def show_idle(self, text: str = "—") -> None:
        self._style("idle")
        self.verdict.setText(text)
        self.reason.setText("")

    def show_verdict(self, verdict: str, reasons: tuple[str, ...]) -> None:
        self._style(verdict)
        self.verdict.setText(verdict.upper())
        self.reason.setText("; ".join(reasons) if reasons else "no defect counted")

    def _style(self, kind: str) -> None:
        self.verdict.setStyleSheet(f"{STYLES[kind]} font-size: 72pt; font-weight: bold; border-radius: 8px;")
