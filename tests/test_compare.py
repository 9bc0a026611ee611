"""``inspection compare`` on a station's recorded inspections and on labelled images."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from conftest import ROOT, SAMPLE_IMAGES, run_cli, run_station

BUNDLED = ROOT / "models" / "deeppcb-yolov8n"


def test_compare_replays_recorded_inspections(station_yaml: Path, tmp_path: Path) -> None:
    summary = run_station(station_yaml, parts=14)
    assert summary.records_written == 14
    # Two records made to point outside the data folder (as a hand edit could): never followed.
    shutil.copy(next(SAMPLE_IMAGES.glob("*_test.jpg")), tmp_path / "outside.jpg")
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM inspections ORDER BY created_at LIMIT 2")]
        db.execute("UPDATE inspections SET image_path = '../outside.jpg' WHERE id = ?", (ids[0],))
        db.execute("UPDATE inspections SET image_path = '/etc/passwd' WHERE id = ?", (ids[1],))
    report = tmp_path / "compare.md"
    result = run_cli(
        "compare", str(tmp_path / "data" / "inspection.db"),
        "--baseline", str(BUNDLED / "model.onnx"), "--candidate", str(BUNDLED / "model_openvino" / "model.xml"),
        "--report", str(report),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "warning: 2 recorded image(s) skipped: missing, or outside the data folder" in result.stderr
    compared = json.loads(report.with_suffix(".json").read_text())
    assert compared["parts"] == 12 and compared["flips"] == 0  # an export in parity flips nothing
    assert compared["speed"]["candidate"]["backend"].startswith("openvino")
    assert "Verdict flips: 0" in report.read_text()
