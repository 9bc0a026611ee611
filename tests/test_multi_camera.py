"""A part seen by two cameras (pylon's two emulated cameras, the bundled model, SQLite): N triggers give N
part records with two view results and two images each; a camera that goes away for a while makes its
parts FAIL with the reason (counted), and the station recovers; the example config runs as documented."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import ROOT, SAMPLE_IMAGES, run_cli, write_station

from inspection.config import load_station_config
from inspection.core.events import Event, InspectionDone
from inspection.station.pipeline import Station


def _camera(serial: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "pylon", "emulated": 2, "serial": serial, "image_folder": str(SAMPLE_IMAGES),
        "trigger": {"mode": "software"}, "timeout_ms": 1000, **extra,
    }  # fmt: skip


def _two_camera_station(tmp_path: Path, bottom: dict[str, Any] | None = None, **pipeline: Any) -> Path:
    views = {"top": {"camera": _camera("0815-0000")}, "bottom": {"camera": bottom or _camera("0815-0001")}}
    return write_station(tmp_path, views=views, camera=None, pipeline=pipeline)


def _parts(database: Path) -> dict[str, Any]:
    with sqlite3.connect(database) as db:
        parts = db.execute("SELECT id, verdict, reasons, image_path FROM inspections ORDER BY created_at").fetchall()
        views = db.execute(
            "SELECT inspection_id, view, verdict, missing, image_path, reasons FROM inspection_views"
        ).fetchall()
        boxes = db.execute("SELECT inspection_id, view FROM detections").fetchall()
    return {"parts": parts, "views": views, "boxes": boxes}


def test_n_triggers_give_n_part_records_with_two_views_and_two_images(tmp_path: Path) -> None:
    config = load_station_config(_two_camera_station(tmp_path))
    first = next(iter(config.views))  # the station file's order (here as yaml.safe_dump wrote it)
    station = Station(config)
    try:
        summary = station.run(parts=12)
    finally:
        station.close()
    found = _parts(tmp_path / "data" / "inspection.db")
    assert len(found["parts"]) == summary.stats.parts == 12 and not summary.errors
    by_part: dict[str, list[tuple[Any, ...]]] = {}
    for row in found["views"]:
        by_part.setdefault(row[0], []).append(row)
    for part_id, verdict, _reasons, image in found["parts"]:
        views = sorted(by_part[part_id], key=lambda row: row[1])
        assert [row[1] for row in views] == ["bottom", "top"]
        assert verdict == ("fail" if any(row[2] == "fail" for row in views) else "pass")
        for row in views:
            assert (tmp_path / "data" / row[4]).is_file() and row[4].endswith(f"_{row[1]}.png")
        assert image == next(row[4] for row in views if row[1] == first)  # the part's image: the first view's
    assert found["boxes"] and all(view in ("top", "bottom") for _, view in found["boxes"])
    assert any(verdict == "fail" for _, verdict, _, _ in found["parts"])  # the sample has defective boards


def test_a_camera_away_for_a_while_fails_its_parts_with_the_reason_and_recovers(tmp_path: Path) -> None:
    slow_back = _camera("0815-0001", reconnect={"initial_s": 1.5, "max_s": 2.0})
    station = Station(load_station_config(_two_camera_station(tmp_path, slow_back, view_timeout_ms=300)))
    pulled: list[bool] = []

    def pull_the_bottom_camera(event: Event) -> None:
        if isinstance(event, InspectionDone) and station.stats.parts == 3 and not pulled:
            pulled.append(True)
            assert station.views is not None
            station.views.cameras["bottom"].source.close()  # the device goes away under the station

    station.bus.subscribe(pull_the_bottom_camera)
    try:
        summary = station.run(parts=24)
    finally:
        station.close()
    assert station.views is not None
    missed = station.views.missing["bottom"]
    found = _parts(tmp_path / "data" / "inspection.db")
    assert len(found["parts"]) == summary.stats.parts == 24  # no part lost
    missing = [row for row in found["views"] if row[3]]
    assert len(missing) == missed >= 1 and station.views.missing["top"] == 0
    assert all(row[1] == "bottom" and row[2] == "fail" and row[4] is None for row in missing)
    failed_for_it = {row[0] for row in missing}
    for part_id, verdict, reasons, _image in found["parts"]:
        if part_id in failed_for_it:
            assert verdict == "fail" and "bottom: no image within 300 ms" in reasons, reasons
    last = found["parts"][-1][0]
    assert {row[1] for row in found["views"] if row[0] == last and not row[3]} == {"top", "bottom"}  # recovered


def test_the_two_camera_example_runs_as_documented() -> None:
    data = ROOT / "data-two-camera"
    existed = data.exists()
    try:
        done = run_cli("run", "--config", "configs/examples/two-camera-station.yaml", "--parts", "20", "--quiet")
        assert done.returncode == 0, done.stderr
        found = _parts(data / "inspection.db")
        assert len(found["parts"]) >= 20 and len(found["views"]) == 2 * len(found["parts"])
    finally:
        if not existed:
            shutil.rmtree(data, ignore_errors=True)


def test_a_two_camera_station_killed_mid_write_leaves_whole_parts(tmp_path: Path) -> None:
    """Read by a second process while it writes, then killed: every part in the database has both views
    (one transaction), every view image it names is on disk, and the next start takes the database as is."""
    config = _two_camera_station(tmp_path)
    script = (
        "import sys; sys.path.insert(0, 'tests'); import conftest\n"
        "from inspection.config import load_station_config\n"
        "from inspection.station.pipeline import Station\n"
        f"Station(load_station_config({str(config)!r})).run(duration_s=600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    database = tmp_path / "data" / "inspection.db"
    seen = 0
    deadline = time.monotonic() + 120
    try:
        while seen < 10 and time.monotonic() < deadline:  # this process reads while the station writes
            time.sleep(0.2)
            if database.exists():
                with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
                    try:
                        seen = db.execute("SELECT COUNT(*) FROM inspections").fetchone()[0]
                    except sqlite3.OperationalError:  # the schema is still being made
                        continue
    finally:
        process.send_signal(signal.SIGKILL)  # mid-run: images and rows being written
        process.wait(30)
    assert seen >= 10
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        parts = db.execute("SELECT COUNT(*) FROM inspections").fetchone()[0]
        per_part = db.execute("SELECT inspection_id, COUNT(*) FROM inspection_views GROUP BY inspection_id").fetchall()
        images = [row[0] for row in db.execute("SELECT image_path FROM inspection_views")]
    assert parts >= seen and len(per_part) == parts and all(count == 2 for _, count in per_part)
    assert all((tmp_path / "data" / image).is_file() for image in images)
    Station(load_station_config(config)).close()  # the next start: journal replayed, images reconciled
