"""A station killed mid-run loses nothing it committed and leaves nothing half-written."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, write_station

from inspection.config import load_station_config
from inspection.station.pipeline import Station


def _start_station(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "inspection.cli.main", "run", "--config", str(config), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_rows(db: Path, at_least: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
                    count = conn.execute("SELECT count(*) FROM inspections").fetchone()[0]
                if count >= at_least:
                    return int(count)
            except sqlite3.OperationalError:
                pass  # schema not created yet
        time.sleep(0.1)
    raise AssertionError(f"station wrote fewer than {at_least} records in {timeout} s")


def test_sigkill_while_recording_then_restart_is_consistent(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    data = tmp_path / "data"
    process = _start_station(config)
    try:
        _wait_for_rows(data / "inspection.db", 25)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    with sqlite3.connect(data / "inspection.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT id, image_path FROM inspections").fetchall()
        grabbed = [created for (created,) in db.execute("SELECT created_at FROM inspections ORDER BY rowid")]
        orphan_detections = db.execute(
            "SELECT count(*) FROM detections WHERE inspection_id NOT IN (SELECT id FROM inspections)"
        ).fetchone()[0]
    assert orphan_detections == 0
    assert grabbed == sorted(grabbed), "records written out of grab order (two parts are inspected at once)"
    assert all((data / path).is_file() for _, path in rows), "a row points to a missing image"

    # A restart reconciles the archive: every image left in it has its row.
    station = Station(load_station_config(config))
    try:
        reconciliation = station.store.reconciliation
    finally:
        station.close()
    assert reconciliation.rows_missing_image == 0
    with sqlite3.connect(data / "inspection.db") as db:
        known = {path for (path,) in db.execute("SELECT image_path FROM inspections")}
    archived = {p.relative_to(data).as_posix() for p in (data / "images").rglob("*") if p.is_file()}
    assert archived == known
    assert not any(p.name.endswith(".part") for p in (data / "images").rglob("*"))


def test_reconciliation_moves_unrecorded_images_aside_and_drops_partial_files(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    station = Station(load_station_config(config))
    try:
        station.run(parts=3)
    finally:
        station.close()
    data = tmp_path / "data"
    day = next(p for p in (data / "images").glob("*/*/*") if p.is_dir())
    (day / "999999_deadbeef.png").write_bytes(b"an image whose row never committed")
    (day / "999999_cafe.png.part").write_bytes(b"half-written")
    station = Station(load_station_config(config))
    station.close()
    result = station.store.reconciliation
    assert (result.orphans_moved, result.partial_files_removed, result.rows_missing_image) == (1, 1, 0)
    assert (data / "orphans" / day.relative_to(data / "images") / "999999_deadbeef.png").is_file()


def test_sigterm_flushes_every_pending_record(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    data = tmp_path / "data"
    process = _start_station(config)
    _wait_for_rows(data / "inspection.db", 10)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    with sqlite3.connect(data / "inspection.db") as db:
        rows = db.execute("SELECT count(*) FROM inspections").fetchone()[0]
    images = [p for p in (data / "images").rglob("*") if p.is_file()]
    parts_line = next(line for line in stdout.splitlines() if line.startswith("parts"))
    assert int(parts_line.split()[1]) == rows == len(images)
    assert f"{rows} written" in stdout
