"""The station's records are evidence: one process keeps one engine, outside readers cannot corrupt it,
a second station on the same data folder is refused, and a locked database loses no part."""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, run_station, write_station

from inspection.config import load_station_config
from inspection.core.errors import StorageError
from inspection.recorder.audit import record_action
from inspection.recorder.database import open_station_database
from inspection.recorder.spill import JOURNAL_NAME, SpillJournal
from inspection.station.pipeline import Station

# A read-only query, through a read-only connection or a plain one (as the sqlite3 shell opens it):
# the plain one, the last to close, checkpoints the WAL and deletes it.
READ_QUERY = """
import sqlite3, sys
connection = sqlite3.connect(f"file:{sys.argv[1]}{sys.argv[2]}", uri=True)
print(connection.execute("SELECT count(*) FROM inspections").fetchone()[0])
connection.close()
"""


def _outside_read(kind: str, config: Path, db: Path) -> None:
    """Another process reads the station's database while this one keeps its engine open."""
    if kind.startswith("sqlite3"):
        mode = "?mode=ro" if kind == "sqlite3-read-only" else ""
        done = subprocess.run([sys.executable, "-c", READ_QUERY, str(db), mode], capture_output=True, text=True)
    else:
        done = run_cli("stats", "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr


def _check_in_another_process(db: Path) -> tuple[str, list[str], int]:
    query = (
        "import sqlite3, sys, json\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "print(json.dumps([c.execute('PRAGMA integrity_check').fetchone()[0],"
        " [r[0] for r in c.execute('SELECT action FROM audit_log ORDER BY id')],"
        " c.execute('SELECT count(*) FROM inspections').fetchone()[0]]))\n"
    )
    done = subprocess.run([sys.executable, "-c", query, str(db)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    integrity, actions, records = json.loads(done.stdout)
    return integrity, actions, records


@pytest.mark.parametrize("reader", ["sqlite3-read-only", "sqlite3-query", "inspection-stats"])
def test_long_lived_engine_two_station_runs_and_an_outside_reader(tmp_path: Path, reader: str) -> None:
    """The GUI's pattern: one engine for the process's lifetime, Start / Stop / Start, a reader between."""
    config = write_station(tmp_path)
    storage = load_station_config(config).storage
    db = tmp_path / "data" / "inspection.db"
    engine = open_station_database(storage)  # the GUI's engine, open all along
    try:
        record_action(engine, "alice", "login", {})
        record_action(engine, "alice", "start", {})
        run_station(config, parts=6)
        record_action(engine, "alice", "stop", {})
        _outside_read(reader, config, db)
        record_action(engine, "alice", "review", {})
        record_action(engine, "alice", "start", {})
        run_station(config, parts=6)
        record_action(engine, "alice", "stop", {})
        _outside_read(reader, config, db)
        record_action(engine, "alice", "logout", {})
        integrity, actions, records = _check_in_another_process(db)
    finally:
        engine.dispose()
    assert integrity == "ok"
    assert actions == ["login", "start", "stop", "review", "start", "stop", "logout"]
    assert records == 12
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _start_station(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "inspection.cli.main", "run", "--config", str(config), "--quiet", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _rows(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            return int(connection.execute("SELECT count(*) FROM inspections").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # not created yet, or locked


def _images(data: Path) -> set[str]:
    return {p.relative_to(data).as_posix() for p in (data / "images").rglob("*") if p.is_file()}


def _recorded_images(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [path for (path,) in connection.execute("SELECT image_path FROM inspections ORDER BY rowid")]


def test_a_second_station_on_a_running_stations_data_folder_is_refused(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    data = tmp_path / "data"
    first = _start_station(config)
    try:
        _wait_for(lambda: _rows(data / "inspection.db") >= 10, "the first station's records")
        second = run_cli("run", "--config", str(config), "--parts", "3")
        assert second.returncode == 2
        error = second.stderr.strip().splitlines()
        assert len(error) == 1 and error[0].startswith("error: "), second.stderr
        assert f"data folder in use by station 'test-station' (pid {first.pid} on" in error[0]
        # The GUI's way in (a Station built in this process) is refused just the same.
        with pytest.raises(StorageError, match="data folder in use"):
            Station(load_station_config(config))
        assert first.poll() is None, "the first station was harmed"
    finally:
        first.send_signal(signal.SIGTERM)
        stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    assert "0 image(s) without a record moved" in stdout
    recorded = _recorded_images(data / "inspection.db")
    assert set(recorded) == _images(data) and len(recorded) == len(set(recorded))
    assert not (data / "orphans").exists()
    # Once the first has stopped, the folder is free again.
    run_station(config, parts=2)


LOCKER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("BEGIN IMMEDIATE")  # another writer's transaction: the station cannot commit
print("locked", flush=True)
if float(sys.argv[2]) > 0:
    time.sleep(float(sys.argv[2]))
else:
    sys.stdin.readline()
connection.execute("ROLLBACK")
"""


def _hold_write_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holds a write transaction for ``seconds`` (0: until its standard input closes)."""
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    return locker


def test_a_write_lock_held_for_10_s_loses_no_part(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    data = tmp_path / "data"
    db = data / "inspection.db"
    station = _start_station(config, "--duration", "16")
    try:
        _wait_for(lambda: _rows(db) >= 5, "the first records")
        locker = _hold_write_lock(db, 10.0)
        _wait_for(lambda: (data / JOURNAL_NAME).exists(), "records to wait in the journal", timeout=30)
        locker.wait(timeout=30)
        stdout, stderr = station.communicate(timeout=120)
    finally:
        station.kill()
    assert station.returncode == 0, stderr
    assert "Traceback" not in stderr
    parts = int(next(line for line in stdout.splitlines() if line.startswith("parts")).split()[1])
    with sqlite3.connect(db) as connection:
        times = [t for (t,) in connection.execute("SELECT created_at FROM inspections ORDER BY rowid")]
    assert len(times) == parts > 20
    assert times == sorted(times), "records are not in inspection order"
    assert set(_recorded_images(db)) == _images(data)
    assert not (data / JOURNAL_NAME).exists()
    assert f"{parts} written" in stdout


def test_sigkill_while_records_wait_in_the_journal_loses_none(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    data = tmp_path / "data"
    db = data / "inspection.db"
    journal = data / JOURNAL_NAME
    station = _start_station(config)
    locker = None
    try:
        _wait_for(lambda: _rows(db) >= 5, "the first records")
        locker = _hold_write_lock(db, 0)
        _wait_for(lambda: journal.exists() and len(journal.read_bytes().splitlines()) >= 20, "a full journal")
        station.send_signal(signal.SIGKILL)
        station.wait(timeout=30)
        committed = _rows(db)
        waiting = SpillJournal(data).read()
    finally:
        station.kill()
        if locker is not None:
            locker.communicate("\n", timeout=30)
    assert len(waiting) >= 20
    # The next start writes them before anything else; every record has its image.
    restarted = Station(load_station_config(config))
    try:
        assert restarted.store.replayed == len(waiting)
        assert restarted.store.reconciliation.rows_missing_image == 0
    finally:
        restarted.close()
    assert _rows(db) == committed + len(waiting)
    recorded = _recorded_images(db)
    assert all((data / path).is_file() for path in recorded)
    assert {record.inspection["id"] for record in waiting} <= _ids(db)
    assert not journal.exists()


def _ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {row[0] for row in connection.execute("SELECT id FROM inspections")}


def test_a_database_with_corrupt_pages_is_refused_and_left_alone(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    run_station(config, parts=40)
    db = tmp_path / "data" / "inspection.db"
    with sqlite3.connect(db) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
    assert pages > 6
    with db.open("r+b") as handle:  # no engine holds it in this process now
        handle.seek(page_size * (pages // 2))
        handle.write(bytes(range(256)) * (page_size // 256))
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = run_cli("run", "--config", str(config), "--parts", "1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "the database is damaged" in lines[0] and "restore it from a backup" in lines[0]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_processes_opening_one_new_database_at_once_all_find_its_schema(tmp_path: Path) -> None:
    """A station, the app and a command started together on a fresh file: one creates the schema, the
    others wait for its write lock and find it at head (they used to create the same tables again and
    fail with "table inspections already exists")."""
    code = (
        f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n"
        "from inspection.recorder.database import open_database\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all at the same moment\n"
        "open_database(sys.argv[1])\n"
    )
    for round_ in range(3):
        url, start = f"sqlite:///{tmp_path / f'round{round_}.db'}", str(time.time() + 8)
        openers = [
            subprocess.Popen([sys.executable, "-c", code, url, start], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        failures = [err for err in (p.communicate(timeout=120)[1] for p in openers) if "Error" in err]
        assert failures == [], failures[0][-400:] if failures else ""
