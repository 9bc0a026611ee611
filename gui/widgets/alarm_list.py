"""The alarm list: every alarm that still needs someone, newest first, in the colour of its state.

- active (red): raised, nobody has acknowledged it;
- acknowledged (amber): somebody has seen it, the condition is still there: it stays on the list;
- cleared (grey): the condition is gone, nobody has acknowledged it yet.
An alarm leaves the list when it is both cleared and acknowledged. Acknowledging takes a note (what was
done); the heading counts the active ones in large red letters."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

COLOURS = {"active": "#c62828", "acknowledged": "#ef6c00", "cleared": "#757575"}


@dataclass(frozen=True)
class Alarm:
    id: int
    text: str
    acknowledged_by: str | None = None
    cleared: bool = False

    @property
    def state(self) -> str:
        return "acknowledged" if self.acknowledged_by and not self.cleared else "cleared" if self.cleared else "active"


class AlarmList(QWidget):
    acknowledge_requested = Signal(int, str)  # the alarm id, the note

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.alarms: dict[int, Alarm] = {}
        self.heading = QLabel("")
        self.list = QListWidget()
        self.list.setMaximumHeight(110)
        self.note = QLineEdit()
        self.note.setPlaceholderText("note (what was done)")
        self.button = QPushButton("Acknowledge")
        self.button.clicked.connect(self._acknowledge)
        self.note.returnPressed.connect(self._acknowledge)
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.list)
        layout.addLayout(row)
        self.hide()

    def load(self, rows: list[dict[str, Any]]) -> None:
        """Alarms from the database (``alerts`` rows) that still need someone, as the list shows them."""
        for row in rows:
            self.alarms[row["id"]] = Alarm(
                row["id"], f"{row['rule']}: {row['message']}", row["acknowledged_by"], row["cleared_at"] is not None
            )
        self._update()

    def raised(self, alarm_id: int, rule: str, message: str) -> None:
        self.alarms[alarm_id] = Alarm(alarm_id, f"{rule}: {message}")
        self._update()

    def cleared(self, alarm_id: int) -> None:
        alarm = self.alarms.get(alarm_id)
        if alarm is not None:
            self._set(replace(alarm, cleared=True))

    def acknowledged(self, alarm_id: int, by: str) -> None:
        alarm = self.alarms.get(alarm_id)
        if alarm is not None:
            self._set(replace(alarm, acknowledged_by=by))

    def allow_acknowledge(self, allowed: bool) -> None:
        self.button.setEnabled(allowed)
        self.note.setEnabled(allowed)

    def chosen(self) -> Alarm | None:
        """The alarm picked in the list, else the newest one nobody has acknowledged."""
        item = self.list.currentItem()
        if item is not None and item.isSelected():
            return self.alarms.get(int(item.data(256)))
        waiting = [a for a in self.alarms.values() if a.acknowledged_by is None]
        return max(waiting, key=lambda a: a.id) if waiting else None

    def _acknowledge(self) -> None:
        alarm = self.chosen()
        if alarm is not None and alarm.acknowledged_by is None:
            self.acknowledge_requested.emit(alarm.id, self.note.text().strip())
            self.note.clear()

    def _set(self, alarm: Alarm) -> None:
        if alarm.cleared and alarm.acknowledged_by:
            self.alarms.pop(alarm.id, None)  # seen and gone: done
        else:
            self.alarms[alarm.id] = alarm
        self._update()

    def _update(self) -> None:
        self.list.clear()
        for alarm in sorted(self.alarms.values(), key=lambda a: -a.id):
            by = f" (acknowledged by {alarm.acknowledged_by})" if alarm.acknowledged_by else ""
            item = QListWidgetItem(f"{alarm.state.upper()}  {alarm.text}{by}")
            item.setForeground(QColor(COLOURS[alarm.state]))
            item.setData(256, alarm.id)
            self.list.addItem(item)
        active = sum(a.state == "active" for a in self.alarms.values())
        self.heading.setText(f"ALARMS: {active} active, {len(self.alarms)} listed")
        colour = COLOURS["active"] if active else COLOURS["acknowledged"]
        self.heading.setStyleSheet(
            f"color: white; background: {colour}; padding: 6px; font-size: 16pt; font-weight: bold;"
        )
        self.setVisible(bool(self.alarms))
