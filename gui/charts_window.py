"""Charts: yield per hour, availability and OEE per hour, and the defect Pareto (counts by class) for a
chosen range (pyqtgraph)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from gui.services import Records, hour_key
from gui.timefmt import plant_time, zone_name
from inspection.quality.oee import Oee
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
        self.oee_plot = pg.PlotWidget(title="Availability (blue) and OEE (black) per hour (%)")
        self.oee_plot.setYRange(0, 100)
        self.oee_plot.showGrid(x=False, y=True, alpha=0.3)
        self.pareto_plot = pg.PlotWidget(title="Defects by class (counted boxes)")
        top = QHBoxLayout()
        top.addWidget(QLabel("Range"))
        top.addWidget(self.range)
        top.addWidget(self.summary, 1)
        layout = QVBoxLayout()
        layout.addLayout(top)
        layout.addWidget(self.yield_plot, 1)
        layout.addWidget(self.oee_plot, 1)
        layout.addWidget(self.pareto_plot, 1)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.resize(1000, 760)
        self.hours: list[TimeBucket] = []
        self.pareto: list[tuple[str, int]] = []
        self.oee: dict[str, object] = {}
        self.oee_hours: dict[str, Oee] = {}
        self.range.currentTextChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        span = RANGES[self.range.currentText()]
        where = RecordFilter(since=datetime.now(UTC) - span if span is not None else None)
        self.hours = self.records.time_buckets(where, 60)
        self.pareto = self.records.pareto(where)
        totals, self.oee_hours = self.records.oee_by_hour(where)
        self.oee = totals.as_dict()
        parts = sum(h.counts.parts for h in self.hours)
        passed = sum(h.counts.passed for h in self.hours)
        self.summary.setText(
            f"{parts} parts, yield {100.0 * passed / parts:.1f} %; {oee_line(self.oee)}"
            if parts
            else "no parts in this range"
        )
        self.yield_plot.clear()
        if self.hours:
            x = list(range(len(self.hours)))
            yields = [100.0 * h.counts.passed / h.counts.parts for h in self.hours]
            self.yield_plot.plot(x, yields, pen=pg.mkPen("#1b8a2e", width=2), symbol="o")
            self.yield_plot.setXRange(-0.5, len(x) - 0.5)  # room for the first and last labels
            self.yield_plot.getAxis("bottom").setTicks(self._hour_ticks())
        self._plot_oee()
        self.pareto_plot.clear()
        if self.pareto:
            counts = [n for _, n in self.pareto]
            self.pareto_plot.addItem(
                pg.BarGraphItem(x=list(range(len(counts))), height=counts, width=0.6, brush="#c62828")
            )
            self.pareto_plot.getAxis("bottom").setTicks([[(i, label) for i, (label, _) in enumerate(self.pareto)]])

    def _plot_oee(self) -> None:
        self.oee_plot.clear()
        if not self.hours:
            return
        x = list(range(len(self.hours)))
        figures = [self.oee_hours.get(hour_key(h.start), Oee()).as_dict() for h in self.hours]
        for key, colour in (("availability", "#1565c0"), ("oee", "#000000")):
            values = [100.0 * (f[key] or 0.0) for f in figures]
            self.oee_plot.plot(x, values, pen=pg.mkPen(colour, width=2), symbol="o")
        self.oee_plot.setXRange(-0.5, len(x) - 0.5)
        self.oee_plot.getAxis("bottom").setTicks(self._hour_ticks())

    def _hour_ticks(self) -> list[list[tuple[float, str]]]:
        return [[(i, plant_time(h.start).strftime("%m-%d %Hh")) for i, h in enumerate(self.hours)]]


def oee_line(oee: dict[str, object]) -> str:
    """``OEE 61.0 % (availability 87.0 %), MTTR 5.3 min, 3 faults`` (— where unknown)."""

    def pct(value: object) -> str:
        return "—" if not isinstance(value, float) else f"{100 * value:.1f} %"

    mttr = oee["mttr_s"]
    repair = "—" if not isinstance(mttr, float) else f"{mttr / 60:.1f} min"
    return f"OEE {pct(oee['oee'])} (availability {pct(oee['availability'])}), MTTR {repair}, {oee['faults']} faults"
