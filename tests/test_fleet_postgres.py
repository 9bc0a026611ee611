"""The fleet on Debian's PostgreSQL, started on loopback by the test: the schema's migrations run there;
three station processes forward concurrently (central totals = their local counts); a central database
stopped and restarted while a station runs ends with every record exactly once; the password comes
from the environment and is stored nowhere."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import ROOT, SAMPLE_IMAGES, run_cli, write_station
from postgres_server import PASSWORD, Postgres
from sqlalchemy import Engine, create_engine, func, select, text
from test_quality_stats import part

from gui.history_view import HistoryWindow
from gui.services import Records
from inspection.config import load_station_config
from inspection.core.errors import ConfigError
from inspection.core.events import LineFault, LineLink
from inspection.outputs.fleet import FleetForwarder
from inspection.quality.yield_stats import statistics
from inspection.recorder.database import open_database
from inspection.recorder.queries import RecordFilter
from inspection.recorder.schema import DetectionRow, InspectionRow, InspectionViewRow
from inspection.station.pipeline import Station

PASSWORD_ENV = "TEST_FLEET_PASSWORD"
MULTI_CAMERA = {
    "type": "pylon", "emulated": 2, "image_folder": str(SAMPLE_IMAGES), "trigger": {"mode": "software"},
    "timeout_ms": 1000,
}  # fmt: skip
VIEW_SERIALS = {"top": "0815-0000", "bottom": "0815-0001"}


@pytest.fixture
def postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[Postgres]:
    server = Postgres()
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    try:
        yield server
    finally:
        server.close()


def central(server: Postgres) -> Engine:
    return create_engine(server.url.replace("fleet@", f"fleet:{PASSWORD}@"))


def local_rows(data: Path) -> tuple[set[str], int]:
    with sqlite3.connect(data / "inspection.db") as db:
        ids = {row[0] for row in db.execute("SELECT id FROM inspections")}
        detections = db.execute("SELECT count(*) FROM detections").fetchone()[0]
    return ids, int(detections)


def backlog(station: Station) -> int:
    """Records not forwarded yet, from the station's database (its one engine: the forwarder runs in the
    outputs' process)."""
    with station.engine.connect() as connection:
        query = select(func.count()).select_from(InspectionRow).where(InspectionRow.forwarded_at.is_(None))
        return int(connection.execute(query).scalar_one())


def fleet_settings(server: Postgres) -> dict[str, object]:
    return {"database_url": server.url, "password_env": PASSWORD_ENV, "interval_s": 0.2, "retry_max_s": 1.0}


def test_three_station_processes_forward_concurrently(qtbot, postgres: Postgres, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    configs = []
    for number in range(3):
        folder = tmp_path / f"station-{number}"
        folder.mkdir()
        configs.append(write_station(folder, station=f"station-{number}", fleet=fleet_settings(postgres)))
    env = {**os.environ, "PYLON_CAMEMU": "2"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "inspection.cli.main", "run", "--config", str(config), "--parts", str(30 + 5 * i)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, config in enumerate(configs)
    ]
    for process in processes:
        _out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
    engine = central(postgres)
    with engine.connect() as connection:
        totals = dict(
            connection.execute(select(InspectionRow.station, func.count()).group_by(InspectionRow.station)).all()
        )
        central_ids = set(connection.execute(select(InspectionRow.id)).scalars())
        central_detections = connection.execute(select(func.count()).select_from(DetectionRow)).scalar_one()
    # The desktop app's history reads the central database with a station filter.
    window = HistoryWindow(Records(engine, tmp_path))
    qtbot.addWidget(window)
    assert window.model.total == 3 * 30 + 15
    assert [window.station.itemText(i) for i in range(window.station.count())] == [
        "any station", "station-0", "station-1", "station-2",
    ]  # fmt: skip
    window.station.setCurrentText("station-1")
    window.apply_filter()
    assert window.model.total == 35 and {row.station for row in window.model.rows} == {"station-1"}
    window.close()
    engine.dispose()
    all_ids: set[str] = set()
    all_detections = 0
    for number in range(3):
        ids, detections = local_rows(tmp_path / f"station-{number}" / "data")
        assert totals[f"station-{number}"] == len(ids) == 30 + 5 * number
        all_ids |= ids
        all_detections += detections
    assert central_ids == all_ids and central_detections == all_detections
    # The quality commands read the whole fleet, or one station of it.
    for station, parts in ((None, 3 * 30 + 15), ("station-1", 35)):
        chosen = ["--station", station] if station else []
        step = run_cli("stats", "--config", str(configs[0]), "--database", "fleet", *chosen, "--json")
        assert step.returncode == 0, step.stderr
        assert json.loads(step.stdout)["totals"]["parts"] == parts


def test_central_outage_ends_with_every_record_exactly_once(postgres: Postgres, tmp_path: Path) -> None:
    config = write_station(tmp_path, fleet=fleet_settings(postgres))
    station = Station(load_station_config(config))
    faults: list[LineFault] = []
    links: list[LineLink] = []
    station.bus.subscribe(lambda event: faults.append(event) if isinstance(event, LineFault) else None)
    station.bus.subscribe(lambda event: links.append(event) if isinstance(event, LineLink) else None)
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    try:
        forwarded = lambda: station.status().outputs.get("fleet", {}).get("forwarded", 0)  # noqa: E731
        deadline = time.monotonic() + 60
        while forwarded() < 20:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        postgres.stop()  # the station goes on recording locally
        time.sleep(5)
        assert backlog(station) > 0
        postgres.start()
        deadline = time.monotonic() + 60
        while forwarded() < 20 or backlog(station) > 0:
            assert time.monotonic() < deadline, station.status().outputs
            time.sleep(0.1)
    finally:
        station.stop()
        runner.join(60)
        station.close()
    ids, detections = local_rows(tmp_path / "data")
    engine = central(postgres)
    with engine.connect() as connection:
        central_ids = list(connection.execute(select(InspectionRow.id)).scalars())
        central_detections = connection.execute(select(func.count()).select_from(DetectionRow)).scalar_one()
        stored = connection.execute(
            text("SELECT count(*) FROM inspections WHERE reasons LIKE :p"), {"p": f"%{PASSWORD}%"}
        )
        assert stored.scalar_one() == 0
    engine.dispose()
    assert len(central_ids) == len(set(central_ids)) == len(ids) and set(central_ids) == ids
    assert central_detections == detections  # no detection written twice
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        assert db.execute("SELECT count(*) FROM inspections WHERE forwarded_at IS NULL").fetchone()[0] == 0
    assert any(f.source == "fleet" and "out of reach" in f.message for f in faults)
    assert all(PASSWORD not in f.message for f in faults)
    assert [(link.source, link.up) for link in links] == [("fleet", False), ("fleet", True)]  # down, then back
    assert all(PASSWORD not in link.message for link in links)
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_password_in_the_fleet_url_is_refused(tmp_path: Path) -> None:
    config = write_station(tmp_path, fleet={"database_url": "postgresql+psycopg://station:secret@db.plant/fleet"})
    with pytest.raises(ConfigError, match="put no password in the file"):
        load_station_config(config)


def test_time_bounds_in_a_zone_select_the_same_parts_on_postgresql(postgres: Postgres) -> None:
    """The DST case of tests/test_quality_stats.py on PostgreSQL: bounds in Berlin time (summer time since
    2026-03-29) and with explicit offsets pick the parts stored in UTC."""
    engine = open_database(postgres.url.replace("fleet@", f"fleet:{PASSWORD}@"))
    for when in ("2026-03-28T04:30", "2026-03-28T05:30", "2026-03-30T03:30", "2026-03-30T04:30"):
        part(engine, datetime.fromisoformat(when).replace(tzinfo=UTC), "pass", 10.0, [])
    berlin = ZoneInfo("Europe/Berlin")

    def parts(since: datetime, until: datetime | None = None) -> int:
        return statistics(engine, RecordFilter(since=since, until=until), "day").totals.parts

    assert parts(datetime(2026, 3, 30, 6, 0, tzinfo=berlin)) == 1  # 04:00 UTC
    assert parts(datetime.fromisoformat("2026-03-30T06:00+02:00")) == 1
    assert parts(datetime(2026, 3, 28, 6, 0, tzinfo=berlin), datetime(2026, 3, 29, tzinfo=berlin)) == 1  # 05:00 UTC
    assert parts(datetime(2026, 3, 28, 6, 0, tzinfo=berlin), datetime(2026, 3, 30, 6, 0, tzinfo=berlin)) == 2
    engine.dispose()


def test_a_two_camera_station_forwards_each_parts_views(postgres: Postgres, tmp_path: Path) -> None:
    views = {name: {"camera": {**MULTI_CAMERA, "serial": serial}} for name, serial in VIEW_SERIALS.items()}
    config = write_station(tmp_path, views=views, camera=None, fleet=fleet_settings(postgres))
    station = Station(load_station_config(config))
    try:
        station.run(parts=6)
    finally:
        station.close()
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        local = sorted(db.execute("SELECT inspection_id, view, verdict, image_path FROM inspection_views"))
    engine = central(postgres)
    with engine.connect() as connection:
        forwarded = sorted(
            tuple(row)
            for row in connection.execute(
                select(
                    InspectionViewRow.inspection_id,
                    InspectionViewRow.view,
                    InspectionViewRow.verdict,
                    InspectionViewRow.image_path,
                )
            )
        )
    engine.dispose()
    assert len(local) == 12 and forwarded == local  # both views of each of the 6 parts, once


def test_a_batch_sent_again_after_a_crash_adds_only_what_the_central_database_lacks(
    postgres: Postgres, tmp_path: Path
) -> None:
    """A kill between the central commit and the local mark: the next start sends the batch again. Half of
    it is central already (the other half is deleted there, as if its commit had not happened): only that
    half is inserted, with its detections, and counted apart from what was already there."""
    config = load_station_config(write_station(tmp_path, fleet=fleet_settings(postgres)))
    station = Station(config)
    try:
        station.run(parts=8)
    finally:
        station.close()
    ids, detections = local_rows(tmp_path / "data")
    engine = central(postgres)
    with engine.begin() as connection:
        assert set(connection.execute(select(InspectionRow.id)).scalars()) == ids
        lost = sorted(ids)[:4]
        connection.execute(text("DELETE FROM detections WHERE inspection_id = ANY(:ids)"), {"ids": lost})
        connection.execute(text("DELETE FROM inspections WHERE id = ANY(:ids)"), {"ids": lost})
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        db.execute("UPDATE inspections SET forwarded_at = NULL")
    assert config.fleet is not None
    local = open_database(f"sqlite:///{tmp_path / 'data' / 'inspection.db'}")
    forwarder = FleetForwarder(config.fleet, local)
    try:
        assert forwarder.forward_once() == 8
        assert forwarder.counters == {"forwarded": 4, "already_there": 4, "failures": 0}
        assert forwarder.forward_once() == 0  # every one marked forwarded
    finally:
        forwarder.close(drain_s=0)
        local.dispose()
    with engine.connect() as connection:
        central_ids = list(connection.execute(select(InspectionRow.id)).scalars())
        central_detections = connection.execute(select(func.count()).select_from(DetectionRow)).scalar_one()
    engine.dispose()
    assert sorted(central_ids) == sorted(ids)
    assert central_detections == detections
