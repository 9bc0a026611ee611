"""Shift counters: parts, pass, fail, yield, parts per minute (the station's own counts), last cycle time."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from inspection.core.status import PartCounts

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
        layout = QFormLayout(self)
        heading = QLabel("Since start")
        heading.setStyleSheet("font-size: 12pt; color: #616161;")
        layout.addRow(heading)
        for name, title in TITLES.items():
            self.labels[name].setStyleSheet("font-size: 20pt; font-weight: bold;")
            caption = QLabel(title)
            caption.setStyleSheet("font-size: 14pt;")
            layout.addRow(caption, self.labels[name])

    def show_stats(self, counts: PartCounts) -> None:
        """From the station's StatsUpdate (authoritative: the GUI never counts parts itself)."""
        self.labels["parts"].setText(str(counts.parts))
        self.labels["pass"].setText(str(counts.passed))
        self.labels["fail"].setText(str(counts.failed))
        self.labels["yield"].setText("—" if counts.yield_pct is None else f"{counts.yield_pct:.1f} %")
        self.labels["rate"].setText(f"{counts.parts_per_s * 60:.0f}")

    def show_cycle(self, cycle_ms: float) -> None:
        self.labels["cycle"].setText(f"{cycle_ms:.0f} ms")

    def value(self, name: str) -> str:
        return self.labels[name].text()
