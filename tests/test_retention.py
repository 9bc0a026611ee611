"""Image retention on a real small disk (a tmpfs mounted by the test): the disk never fills, the oldest
PASS images go first, and every pruned record says so (no record points to a missing file silently)."""

from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import run_cli, run_station, write_station

from gui.record_detail import RecordDetailDialog
from inspection.config import Retention, load_station_config
from inspection.recorder import queries
from inspection.recorder.database import open_station_database
from inspection.recorder.retention import ImagePruner

DISK_MB = 48


@pytest.fixture
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A tmpfs of DISK_MB megabytes (or the test's indirect parameter) mounted in tmp_path."""
    size_mb = getattr(request, "param", DISK_MB)
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = os.geteuid() == 0 and shutil.which("mount") is not None
    if mounted:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(disk)], capture_output=True
        )
        mounted = done.returncode == 0
    if not mounted:
        if os.environ.get("CI"):
            pytest.fail("the retention test mounts a small tmpfs and needs root (CI runs as root)")
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _rows(db: Path) -> list[tuple[str, str, str, str | None]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT created_at, verdict, image_path, image_pruned_at FROM inspections ORDER BY created_at, rowid"
        ).fetchall()


def test_a_small_disk_never_fills_and_the_oldest_pass_images_go_first(tmp_path: Path, small_disk: Path) -> None:
    # 120 parts as uncompressed BMP (~410 KB each, ~49 MB) on a 48 MB disk that keeps 25% free: about a
    # third of the images must go, and the FAIL ones (half the parts, ~25 MB) fit in what is left.
    data = small_disk / "data"
    config = write_station(
        tmp_path,
        storage={"data_dir": str(data), "image_format": "bmp",
                 "retention": {"min_free_percent": 25, "keep": "fail_first"}},
    )  # fmt: skip
    summary = run_station(config, parts=120)
    assert summary.errors == [] and summary.records_written == 120
    usage = shutil.disk_usage(small_disk)
    assert usage.free >= 0.2 * usage.total, "the pruner fell behind the writer"

    rows = _rows(data / "inspection.db")
    pruned = [r for r in rows if r[3] is not None]
    kept = [r for r in rows if r[3] is None]
    assert len(pruned) >= 25
    assert all(verdict == "pass" for _, verdict, _, _ in pruned), "a FAIL image went while PASS ones were left"
    kept_pass = [r for r in kept if r[1] == "pass"]
    assert not kept_pass or max(r[0] for r in pruned) <= min(r[0] for r in kept_pass), "not the oldest PASS first"
    assert all(not (data / path).exists() for _, _, path, _ in pruned)
    assert all((data / path).is_file() for _, _, path, _ in kept)
    files = {p.relative_to(data).as_posix() for p in (data / "images").rglob("*") if p.is_file()}
    assert files == {path for _, _, path, _ in kept}

    # The export says which images were pruned, and when.
    out = tmp_path / "log"
    result = run_cli("export-log", "--config", str(config), "--out", str(out), "--format", "csv")
    assert result.returncode == 0, result.stderr
    with (out / "inspections.csv").open(newline="") as file:
        exported = list(csv.DictReader(file))
    assert sum(1 for row in exported if row["image_pruned_at"]) == len(pruned)


@pytest.mark.parametrize("small_disk", [8], indirect=True)
def test_without_retention_a_full_disk_stops_the_station_cleanly(tmp_path: Path, small_disk: Path) -> None:
    data = small_disk / "data"
    config = write_station(tmp_path, storage={"data_dir": str(data), "image_format": "bmp"})
    summary = run_station(config, parts=60)  # ~25 MB of images for an 8 MB disk
    assert any("record writer" in error and "No space left" in error for error in summary.errors), summary.errors
    assert 0 < summary.records_written < 60
    with sqlite3.connect(data / "inspection.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("SELECT count(*) FROM inspections").fetchone()[0] == summary.records_written
    assert all((data / path).is_file() for _, _, path, _ in _rows(data / "inspection.db"))


def test_images_older_than_max_age_are_pruned_and_marked(tmp_path: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    config = write_station(tmp_path, storage={"data_dir": str(tmp_path / "data"), "retention": {"max_age_days": 30}})
    run_station(config, parts=6)
    storage = load_station_config(config).storage
    assert storage.retention is not None
    pruner = ImagePruner(open_station_database(storage), storage.data_dir, storage.retention)
    assert pruner.prune_by_age() == 0  # nothing is 30 days old yet
    assert pruner.prune_by_age(now=datetime.now(UTC) + timedelta(days=31)) == 6
    rows = _rows(storage.data_dir / "inspection.db")
    assert all(pruned_at is not None and not (storage.data_dir / path).exists() for _, _, path, pruned_at in rows)
    assert pruner.prune_by_age(now=datetime.now(UTC) + timedelta(days=31)) == 0  # each image once

    # The shift report and the record's window say the image was pruned, where it would be.
    report = tmp_path / "shift.html"
    result = run_cli("report", "--config", str(config), "--shift", "current", "--format", "html", "--out", str(report))
    assert result.returncode == 0, result.stderr
    assert "image pruned" in report.read_text()
    failed = next(r for r in queries.page(pruner.engine, queries.RecordFilter(), limit=10) if r.verdict == "fail")
    detail = queries.detail(pruner.engine, failed.id, storage.data_dir)
    assert detail is not None and detail.image is None
    dialog = RecordDetailDialog.from_database(detail)
    qtbot.addWidget(dialog)
    assert dialog.values["image_path"].text().startswith("image pruned ")


def test_retention_needs_something_to_keep() -> None:
    with pytest.raises(ValueError, match="max_age_days, min_free_gb or min_free_percent"):
        Retention()
