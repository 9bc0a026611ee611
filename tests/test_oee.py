"""OEE, availability, performance, quality, MTTR and MTBF on a planted history (state periods and records
in a real SQLite file) against values computed by hand; the state periods a running station writes from
its own events (camera lost and back, a changeover); a killed station's open period closed at the next start."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import DEMO_RECIPE, ROOT, run_cli, write_station
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from inspection.config import load_recipe, load_station_config
from inspection.core.events import CameraBack, Event, InspectionDone
from inspection.recorder.database import open_database
from inspection.recorder.recipes import effective_recipe, remember_recipe
from inspection.recorder.schema import InspectionRow, StatePeriodRow
from inspection.recorder.state_periods import StatePeriod, begin, extend, product_key
from inspection.recorder.synthetic import History, rows
from inspection.station.pipeline import Station

DAY = datetime(2026, 11, 30, tzinfo=UTC)


def _at(hour: int, minute: int) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def _plant(database: Path) -> str:
    """Station line-a, product board (ideal cycle 0.5 s): 06:00-08:10 as in the table below; 2,000 parts
    in 06:xx and 2,000 in 07:xx, every 20th a FAIL."""
    engine = open_database(f"sqlite:///{database}")
    recipe = load_recipe(DEMO_RECIPE).model_copy(update={"name": "board", "ideal_cycle_s": 0.5})
    effective = effective_recipe(recipe, "0" * 64)
    remember_recipe(engine, effective)
    product = product_key("board", effective.sha256)
    periods = [  # state, cause, from, to
        ("running", "", _at(6, 0), _at(7, 0)),  # 3600 s
        ("fault", "camera", _at(7, 0), _at(7, 5)),  # 300 s
        ("running", "", _at(7, 5), _at(7, 45)),  # 2400 s
        ("changeover", "", _at(7, 45), _at(7, 47)),  # 120 s
        ("running", "", _at(7, 47), _at(8, 0)),  # 780 s
        ("fault", "station", _at(8, 0), _at(8, 10)),  # 600 s, then stopped (not planned)
        ("output_fault", "mqtt", _at(7, 10), _at(7, 11)),  # 60 s beside running: a failure, not downtime
    ]
    for state, cause, start, end in periods:
        period_id = begin(engine, StatePeriod("line-a", state, cause, product, start, start))
        extend(engine, period_id, end, closed=True)
    for hour in (6, 7):
        history = History(start=_at(hour, 0), parts=2000, interval_s=1.5, stations=("line-a",), recipes=("board",))
        for inspections, _detections in rows(history):
            for number, row in enumerate(inspections):
                row.update(verdict="fail" if number % 20 == 0 else "pass", recipe_sha256=effective.sha256, defects=0)
                row["id"] = f"{hour:02d}{row['id'][2:]}"
            with engine.begin() as connection:
                connection.execute(insert(InspectionRow), inspections)
    engine.dispose()
    return product


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    _plant(tmp_path / "data" / "inspection.db")
    return write_station(tmp_path, station="line-a", shifts={"timezone": "UTC"})


def test_oee_mttr_and_mtbf_equal_the_hand_computed_values(planted: Path) -> None:
    done = run_cli("stats", "--config", str(planted), "--by", "hour", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    running, fault, changeover = 3600 + 2400 + 780, 300 + 600, 120
    planned = running + fault + changeover  # 7800 s
    assert report["planned_s"] == planned and report["running_s"] == running
    assert report["availability"] == pytest.approx(running / planned, abs=1e-6)  # 0.869231
    assert report["performance"] == pytest.approx(0.5 * 4000 / running, abs=1e-6)  # 0.294985
    assert report["quality"] == pytest.approx(3800 / 4000, abs=1e-6)  # 0.95
    assert report["oee"] == pytest.approx(0.5 * 4000 / planned * 0.95, abs=1e-6)  # 0.24359
    assert report["faults"] == 3  # camera, the station stopped on an error, the MQTT broker
    assert report["mttr_s"] == pytest.approx((fault + 60) / 3)  # 320 s
    assert report["mtbf_s"] == pytest.approx(running / 3)  # 2260 s
    hours = {group["group"][:13]: group for group in report["groups"]}
    assert hours["2026-11-30 06"]["availability"] == 1.0 and hours["2026-11-30 06"]["faults"] == 0
    assert hours["2026-11-30 06"]["performance"] == pytest.approx(0.5 * 2000 / 3600, abs=1e-6)
    seven = hours["2026-11-30 07"]
    assert seven["planned_s"] == 3600 and seven["running_s"] == 3180 and seven["faults"] == 2
    assert seven["oee"] == pytest.approx(3180 / 3600 * (0.5 * 2000 / 3180) * 0.95, abs=1e-6)
    eight = hours["2026-11-30 08"]  # only the stop on the error: planned, no parts
    assert eight["parts"] == 0 and eight["availability"] == 0.0 and eight["mttr_s"] == 600


def test_oee_by_product_and_with_an_ideal_cycle_given_on_the_command_line(planted: Path) -> None:
    done = run_cli("stats", "--config", str(planted), "--by", "recipe", "--json", "--ideal-cycle-s", "1.0")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    (board,) = report["groups"]
    assert board["group"].startswith("board@") and board["planned_s"] == 7800
    assert board["performance"] == pytest.approx(1.0 * 4000 / 6780, abs=1e-6)
    text = run_cli("stats", "--config", str(planted), "--by", "recipe")
    assert "OEE 24.36% = availability 86.92%" in text.stdout and "MTTR 5.3 min" in text.stdout, text.stdout


def test_a_running_station_writes_its_periods_from_its_own_events(tmp_path: Path) -> None:
    template = ROOT / "configs" / "recipes" / "deeppcb-template.yaml"
    station = Station(load_station_config(write_station(tmp_path)))
    steps: list[str] = []

    def drive(event: Event) -> None:
        if isinstance(event, CameraBack):
            steps.append("back")  # the state log heard it first (it subscribed first): its fault has ended
        if not isinstance(event, InspectionDone):
            return
        if station.stats.parts == 3 and not steps:
            steps.append("unplug")
            station.camera.source.close()  # the device goes away under the station: lost, then reopened
        elif station.stats.parts >= 8 and steps == ["unplug", "back"]:
            # only once the camera is back (a slow reconnect on a loaded machine leaves parts 4-7 in flight)
            steps.append("changeover")
            threading.Thread(target=station.change_product, args=(load_recipe(template),)).start()
        elif station.stats.parts >= 14 and len(steps) == 3:
            steps.append("stop")
            station.stop()

    station.bus.subscribe(drive)
    try:
        station.run(duration_s=120)
    finally:
        station.close()
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'inspection.db'}")
    with Session(engine) as session:
        periods = session.scalars(select(StatePeriodRow).order_by(StatePeriodRow.id)).all()
    states = [(p.state, p.cause) for p in periods]
    assert states == [("running", ""), ("fault", "camera"), ("running", ""), ("changeover", ""), ("running", "")]
    assert not any(p.open for p in periods)
    assert periods[-1].product.startswith("deeppcb-bare-board-template@")
    for earlier, later in itertools.pairwise(periods):
        assert earlier.ended_at <= later.started_at + timedelta(milliseconds=1)  # one after the other


def test_a_killed_station_leaves_its_open_period_closed_at_the_next_start(tmp_path: Path) -> None:
    config = write_station(tmp_path, pipeline={"queue_size": 2})
    script = (
        "import sys, time; sys.path.insert(0, 'tests'); import conftest\n"
        "from inspection.config import load_station_config\n"
        "from inspection.station.pipeline import Station\n"
        f"station = Station(load_station_config({str(config)!r}))\n"
        "station.run(duration_s=600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    database = tmp_path / "data" / "inspection.db"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            time.sleep(1)
            if database.exists():
                engine = open_database(f"sqlite:///{database}")
                with engine.connect() as connection:
                    count = connection.execute(select(InspectionRow.id)).all()
                engine.dispose()
                if len(count) >= 5:
                    break
        time.sleep(11)  # one extension of the open period (every 10 s)
    finally:
        process.kill()
        process.wait(30)
    station = Station(load_station_config(config))  # the next start closes what the kill left open
    station.close()
    engine = open_database(f"sqlite:///{database}")
    with Session(engine) as session:
        (period,) = session.scalars(select(StatePeriodRow)).all()
    assert period.state == "running" and not period.open
    assert (period.ended_at - period.started_at).total_seconds() >= 10  # it ran, and the record says so


def test_the_shift_report_shows_the_shifts_oee_and_repair_times(planted: Path, tmp_path: Path) -> None:
    out = tmp_path / "early.html"
    done = run_cli(
        "report", "--config", str(planted), "--shift", "2026-11-30:early", "--format", "html", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert "OEE (availability x performance x quality)" in page
    assert "24.36 % = 86.92 % x 29.50 % x 95.00 %" in page
    assert "5.3 min / 37.7 min (3 fault(s))" in page
