"""Shift counters: parts, pass, fail and yield of the shift so far (from the database, so they survive a
Start / Stop and a restart), the rate of this run and the last cycle time."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from gui.shift_tally import ShiftCounts

TITLES = {
    "parts": "Parts",
    "pass": "Pass",
    "fail": "Fail",
    "yield": "Yield",
    "rate": "Parts / min",
    "cycle": "Last cycle",
}


class CountersPanel(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.labels = {name: QLabel("—") for name in TITLES}
        self.heading = QLabel("Shift")
        self.heading.setStyleSheet("font-size: 12pt;")
        grid = QGridLayout()
        grid.setVerticalSpacing(0)
        for index, (name, title) in enumerate(TITLES.items()):  # three a row: caption above its value
            row, column = 2 * (index // 3), index % 3
            caption = QLabel(title)
            caption.setStyleSheet("font-size: 11pt;")
            self.labels[name].setStyleSheet("font-size: 22pt; font-weight: bold;")
            grid.addWidget(caption, row, column)
            grid.addWidget(self.labels[name], row + 1, column)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(grid)

    def show_shift(self, counts: ShiftCounts) -> None:
        self.heading.setText(f"Shift {counts.shift} (since {counts.since})")
        self.labels["parts"].setText(str(counts.parts))
        self.labels["pass"].setText(str(counts.parts - counts.failed))
        self.labels["fail"].setText(str(counts.failed))
        self.labels["yield"].setText("—" if counts.yield_pct is None else f"{counts.yield_pct:.1f} %")

    def show_rate(self, parts_per_s: float) -> None:
        """This run's rate, from the station's StatsUpdate."""
        self.labels["rate"].setText(f"{parts_per_s * 60:.0f}")

    def show_cycle(self, cycle_ms: float) -> None:
        self.labels["cycle"].setText(f"{cycle_ms:.0f} ms")

    def value(self, name: str) -> str:
        return self.labels[name].text()
