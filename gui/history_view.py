"""History: recorded parts, filtered by time, verdict, defect class, serial, recipe and model, in a table
that loads pages as it scrolls (keyset paging: as fast at the 100,000th record as at the first)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.record_detail import RecordDetailDialog
from gui.services import Records
from gui.session import Session
from gui.timefmt import local_time
from inspection.recorder.queries import RecordFilter, RecordSummary

PAGE = 200
RANGES = {
    "any time": None,
    "last hour": timedelta(hours=1),
    "last 8 hours": timedelta(hours=8),
    "last 24 hours": timedelta(hours=24),
    "last 7 days": timedelta(days=7),
}
COLUMNS = ("Time", "Station", "Verdict", "Reasons", "Serial", "Recipe", "Model", "Cycle ms")
Index = QModelIndex | QPersistentModelIndex


class HistoryModel(QAbstractTableModel):
    def __init__(self, records: Records) -> None:
        super().__init__()
        self.records = records
        self.where = RecordFilter()
        self.rows: list[RecordSummary] = []
        self.total = 0
        self._exhausted = False

    def set_filter(self, where: RecordFilter) -> None:
        self.beginResetModel()
        self.where = where
        self.rows = []
        self._exhausted = False
        self.total = self.records.count(where)
        self.endResetModel()
        self.fetchMore(QModelIndex())

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index) -> None:
        if parent.isValid() or self._exhausted:
            return
        after = (self.rows[-1].created_at, self.rows[-1].id) if self.rows else None
        more = self.records.page(self.where, PAGE, after)
        if len(more) < PAGE:
            self._exhausted = True
        if more:
            self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows) + len(more) - 1)
            self.rows.extend(more)
            self.endInsertRows()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        row = self.rows[index.row()]
        values = (
            local_time(row.created_at),
            row.station,
            row.verdict.upper(),
            "; ".join(row.reasons),
            row.part_serial or "",
            row.recipe,
            row.model,
            f"{row.cycle_ms:.0f}",
        )
        return values[index.column()]

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None


class HistoryWindow(QMainWindow):
    def __init__(
        self,
        records: Records,
        session: Session | None = None,
        classes: list[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.classes = classes or []
        self.setWindowTitle("Inspection history")
        self.records = records
        self.model = HistoryModel(records)
        self.range = QComboBox()
        self.range.addItems(list(RANGES))
        self.verdict = QComboBox()
        self.verdict.addItems(["any verdict", "pass", "fail"])
        self.label = QComboBox()
        self.station = QComboBox()  # a fleet's central database holds several stations
        self.serial = QLineEdit()
        self.serial.setPlaceholderText("part serial")
        self.recipe = QLineEdit()
        self.recipe.setPlaceholderText("recipe")
        self.model_name = QLineEdit()
        self.model_name.setPlaceholderText("model or sha256")
        apply = QPushButton("Filter")
        self.total = QLabel("")
        bar = QHBoxLayout()
        for widget in (
            self.range, self.verdict, self.label, self.station, self.serial, self.recipe, self.model_name, apply,
        ):  # fmt: skip
            bar.addWidget(widget)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self.open_row)
        layout = QVBoxLayout()
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.total)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.resize(1200, 700)
        apply.clicked.connect(self.apply_filter)
        for edit in (self.serial, self.recipe, self.model_name):
            edit.returnPressed.connect(self.apply_filter)
        self.refresh_labels()
        self.apply_filter()

    def refresh_labels(self) -> None:
        self.label.clear()
        self.label.addItems(["any class", *self.records.labels()])
        chosen = self.station.currentText()
        self.station.clear()
        self.station.addItems(["any station", *self.records.stations()])
        if chosen:
            self.station.setCurrentText(chosen)

    def current_filter(self) -> RecordFilter:
        span = RANGES[self.range.currentText()]
        return RecordFilter(
            since=datetime.now(UTC) - span if span is not None else None,
            verdict=None if self.verdict.currentIndex() == 0 else self.verdict.currentText(),
            label=None if self.label.currentIndex() <= 0 else self.label.currentText(),
            station=None if self.station.currentIndex() <= 0 else self.station.currentText(),
            part_serial=self.serial.text().strip() or None,
            recipe=self.recipe.text().strip() or None,
            model=self.model_name.text().strip() or None,
        )

    def apply_filter(self) -> None:
        self.model.set_filter(self.current_filter())
        self.total.setText(f"{self.model.total} record(s)")

    def open_row(self, index: QModelIndex) -> RecordDetailDialog | None:
        record = self.model.rows[index.row()]
        detail = self.records.detail(record.id)
        if detail is None:
            return None
        dialog = RecordDetailDialog.from_database(detail, self, self.session, self.classes)
        dialog.show()
        return dialog
