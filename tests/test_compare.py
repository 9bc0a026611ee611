"""``inspection compare`` on a station's recorded inspections and on labelled images."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, run_cli, run_station

BUNDLED = ROOT / "models" / "deeppcb-yolov8n"


def test_compare_replays_recorded_inspections(station_yaml: Path, tmp_path: Path) -> None:
    summary = run_station(station_yaml, parts=12)
    assert summary.records_written == 12
    report = tmp_path / "compare.md"
    result = run_cli(
        "compare", str(tmp_path / "data" / "inspection.db"),
        "--baseline", str(BUNDLED / "model.onnx"), "--candidate", str(BUNDLED / "model_openvino" / "model.xml"),
        "--report", str(report),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    compared = json.loads(report.with_suffix(".json").read_text())
    assert compared["parts"] == 12 and compared["flips"] == 0  # an export in parity flips nothing
    assert compared["speed"]["candidate"]["backend"].startswith("openvino")
    assert "Verdict flips: 0" in report.read_text()
