"""Charts: yield per hour and the defect Pareto (counts by class) for a chosen range (pyqtgraph)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from gui.services import Records
from gui.timefmt import plant_time, zone_name
from inspection.quality.yield_stats import TimeBucket
from inspection.recorder.queries import RecordFilter

RANGES = {
    "last 8 hours (a shift)": timedelta(hours=8),
    "last 24 hours": timedelta(hours=24),
    "last 7 days": timedelta(days=7),
    "everything": None,
}


class ChartsWindow(QMainWindow):
    def __init__(self, records: Records, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Yield and defects")
        self.records = records
        self.range = QComboBox()
        self.range.addItems(list(RANGES))
        self.summary = QLabel("")
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        self.yield_plot = pg.PlotWidget(title=f"Yield per hour (%; hours in {zone_name()})")
        self.yield_plot.setYRange(0, 100)
        self.yield_plot.showGrid(x=False, y=True, alpha=0.3)
        self.pareto_plot = pg.PlotWidget(title="Defects by class (counted boxes)")
        top = QHBoxLayout()
        top.addWidget(QLabel("Range"))
        top.addWidget(self.range)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout()
        layout.addLayout(top)
        layout.addWidget(self.yield_plot, 1)
        layout.addWidget(self.pareto_plot, 1)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.resize(1000, 760)
        self.hours: list[TimeBucket] = []
        self.pareto: list[tuple[str, int]] = []
        self.range.currentTextChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        span = RANGES[self.range.currentText()]
        where = RecordFilter(since=datetime.now(UTC) - span if span is not None else None)
        self.hours = self.records.time_buckets(where, 60)
        self.pareto = self.records.pareto(where)
        parts = sum(h.counts.parts for h in self.hours)
        passed = sum(h.counts.passed for h in self.hours)
        self.summary.setText(
            f"{parts} parts, yield {100.0 * passed / parts:.1f} %" if parts else "no parts in this range"
        )
        self.yield_plot.clear()
        if self.hours:
            x = list(range(len(self.hours)))
            yields = [100.0 * h.counts.passed / h.counts.parts for h in self.hours]
            self.yield_plot.plot(x, yields, pen=pg.mkPen("#1b8a2e", width=2), symbol="o")
            self.yield_plot.setXRange(-0.5, len(x) - 0.5)  # room for the first and last labels
            axis = self.yield_plot.getAxis("bottom")
            axis.setTicks([[(i, plant_time(h.start).strftime("%m-%d %Hh")) for i, h in enumerate(self.hours)]])
        self.pareto_plot.clear()
        if self.pareto:
            counts = [n for _, n in self.pareto]
            self.pareto_plot.addItem(
                pg.BarGraphItem(x=list(range(len(counts))), height=counts, width=0.6, brush="#c62828")
            )
            self.pareto_plot.getAxis("bottom").setTicks([[(i, label) for i, (label, _) in enumerate(self.pareto)]])
