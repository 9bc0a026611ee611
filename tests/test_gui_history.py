"""History and record detail (real widgets, offscreen) on a real SQLite file written by the real station."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import run_station, write_station

pytest.importorskip("pytestqt")

from gui.history_view import HistoryWindow
from gui.record_detail import RecordDetailDialog
from gui.services import Records
from inspection.config import load_station_config
from inspection.recorder import queries
from inspection.recorder.database import open_database
from inspection.recorder.queries import RecordFilter

PARTS = 40


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history")
    config = write_station(folder)
    assert run_station(config, parts=PARTS).records_written == PARTS
    return config


def test_filters_page_and_open_a_record(qtbot, recorded: Path) -> None:  # type: ignore[no-untyped-def]
    storage = load_station_config(recorded).storage
    engine = open_database(storage.resolved_database_url())
    window = HistoryWindow(Records(engine, storage.data_dir))
    qtbot.addWidget(window)
    assert window.model.total == PARTS and window.model.rowCount() == PARTS
    failed = queries.count(engine, RecordFilter(verdict="fail"))
    assert 0 < failed < PARTS

    window.verdict.setCurrentText("fail")
    window.apply_filter()
    assert window.model.total == failed
    assert {row.verdict for row in window.model.rows} == {"fail"}

    label = window.label.itemText(1)  # the first defect class found in the records
    window.label.setCurrentIndex(1)
    window.apply_filter()
    with_label = window.model.rows
    assert with_label and all(any(label in reason for reason in row.reasons) for row in with_label)

    dialog = window.open_row(window.model.index(0, 0))
    assert isinstance(dialog, RecordDetailDialog)
    qtbot.addWidget(dialog)
    assert dialog.values["verdict"].text() == "fail"
    assert dialog.values["id"].text() == with_label[0].id
    assert dialog.values["image_path"].text().startswith("images/")
    assert " px (" in dialog.values["defects"].text()  # no scale at this station: sizes in pixels


def test_keyset_pages_cover_every_record_once(recorded: Path) -> None:
    storage = load_station_config(recorded).storage
    engine = open_database(storage.resolved_database_url())
    seen: list[str] = []
    after = None
    while True:
        rows = queries.page(engine, RecordFilter(), limit=7, after=after)
        if not rows:
            break
        seen += [row.id for row in rows]
        after = (rows[-1].created_at, rows[-1].id)
    assert len(seen) == len(set(seen)) == PARTS


def test_fail_strip_shows_live_fails_and_opens_them(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gui_helpers import operator_window  # noqa: PLC0415

    window = operator_window(qtbot, write_station(tmp_path))
    window.start(20)
    qtbot.waitUntil(lambda: window.state.shown.kind == "stopped" and not window.controller.running, timeout=60_000)
    assert len(window.fails.parts) == min(8, int(window.counters.value("fail")))
    qtbot.mouseClick(window.fails.buttons[0], _left())
    dialog = window.details[-1]
    assert dialog.values["verdict"].text() == "fail"
    # The time as everywhere in the app: the plant's local time with its zone (it was raw epoch seconds).
    shown_time = dialog.values["created_at"].text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+", shown_time), shown_time
    history = window.open_history()
    qtbot.addWidget(history)
    assert history.model.total == 20


def _left():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt  # noqa: PLC0415

    return Qt.MouseButton.LeftButton


def test_charts_show_yield_and_pareto_computed_in_the_database(qtbot, recorded: Path) -> None:  # type: ignore[no-untyped-def]
    from gui.charts_window import ChartsWindow  # noqa: PLC0415

    storage = load_station_config(recorded).storage
    engine = open_database(storage.resolved_database_url())
    window = ChartsWindow(Records(engine, storage.data_dir))
    qtbot.addWidget(window)
    assert sum(h.counts.parts for h in window.hours) == PARTS
    passed = queries.count(engine, RecordFilter(verdict="pass"))
    assert sum(h.counts.passed for h in window.hours) == passed
    assert f"{PARTS} parts" in window.summary.text()
    # The run's own state periods: running all along, no fault; performance from the demo's ideal cycle time.
    oee = window.oee
    assert oee["availability"] == 1.0 and oee["faults"] == 0 and oee["running_s"] > 0
    assert oee["performance"] == pytest.approx(min(1.0, 0.05 * PARTS / oee["running_s"]), abs=1e-3)
    assert oee["oee"] == pytest.approx(oee["performance"] * oee["quality"], abs=1e-5)
    assert f"OEE {100 * oee['oee']:.1f} % (availability 100.0 %)" in window.summary.text()
    counts = dict(window.pareto)
    assert counts and list(counts.values()) == sorted(counts.values(), reverse=True)
    first_label = window.pareto[0][0]
    labelled = queries.count(engine, RecordFilter(label=first_label))
    assert 0 < labelled <= counts[first_label]  # a part may hold several boxes of one class
