"""The alert banner: the newest alert nobody has acknowledged yet, and the button to acknowledge it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


class AlertBanner(QWidget):
    acknowledge_requested = Signal(int)  # the alert id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Unacknowledged alerts (id -> text), newest = highest id; cleared ones stay until someone has seen them.
        self.alerts: dict[int, str] = {}
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setStyleSheet("color: white; background: #c62828; padding: 6px; font-weight: bold;")
        self.button = QPushButton("Acknowledge alert")
        self.button.clicked.connect(lambda: self.acknowledge_requested.emit(max(self.alerts)) if self.alerts else None)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.button)
        self.hide()

    def raised(self, alert_id: int, rule: str, message: str) -> None:
        self.alerts[alert_id] = f"{rule}: {message}"
        self._update()

    def cleared(self, alert_id: int) -> None:
        if alert_id in self.alerts:
            self.alerts[alert_id] += " (cleared)"
            self._update()

    def remove(self, alert_id: int) -> None:
        self.alerts.pop(alert_id, None)
        self._update()

    def allow_acknowledge(self, allowed: bool) -> None:
        self.button.setEnabled(allowed)

    def _update(self) -> None:
        if not self.alerts:
            self.hide()
            return
        more = f"  (+{len(self.alerts) - 1} more)" if len(self.alerts) > 1 else ""
        self.label.setText(f"ALERT {self.alerts[max(self.alerts)]}{more}")
        self.show()
