"""``inspection inspect --json``: the contract quality engineers script against."""

from __future__ import annotations

import json

import cv2
from conftest import SAMPLE_IMAGES, run_cli


def _inspect_sample(*extra: str) -> list[dict[str, object]]:
    result = run_cli("inspect", str(SAMPLE_IMAGES), "--json", *extra)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(list(SAMPLE_IMAGES.iterdir()))
    return [json.loads(line) for line in lines]


def test_json_lines_follow_the_contract() -> None:
    for item in _inspect_sample():
        assert set(item) >= {"image", "verdict", "reasons", "detections"}
        assert item["verdict"] in ("pass", "fail")
        assert isinstance(item["reasons"], list)
        assert (item["verdict"] == "fail") == bool(item["reasons"])
        image = cv2.imread(str(item["image"]), cv2.IMREAD_UNCHANGED)
        height, width = image.shape[:2]
        for detection in item["detections"]:  # type: ignore[attr-defined]
            assert set(detection) >= {"label", "confidence", "box"}
            x1, y1, x2, y2 = detection["box"]
            assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
            assert 0.0 <= detection["confidence"] <= 1.0


def test_templates_pass_and_defective_boards_fail_on_most_samples() -> None:
    results = _inspect_sample()
    templates = [r for r in results if str(r["image"]).endswith("_temp.jpg")]
    defective = [r for r in results if str(r["image"]).endswith("_test.jpg")]
    templates_passed = sum(r["verdict"] == "pass" for r in templates)
    defective_failed = sum(r["verdict"] == "fail" for r in defective)
    assert templates_passed / len(templates) >= 0.8, f"{templates_passed}/{len(templates)} templates passed"
    assert defective_failed / len(defective) >= 0.8, f"{defective_failed}/{len(defective)} defective failed"


def test_reasons_are_human_readable() -> None:
    failed = [r for r in _inspect_sample() if r["verdict"] == "fail"]
    assert failed
    reason = failed[0]["reasons"][0]  # type: ignore[index]
    count, times, _label, at_least, threshold = reason.split()[:5]
    assert int(count) >= 1 and times == "x" and at_least == ">=" and float(threshold) == 0.5


def test_conf_override_reports_more_detections_when_lower() -> None:
    strict = sum(len(r["detections"]) for r in _inspect_sample("--conf", "0.9"))  # type: ignore[arg-type]
    loose = sum(len(r["detections"]) for r in _inspect_sample("--conf", "0.1"))  # type: ignore[arg-type]
    assert loose > strict
    for item in _inspect_sample("--conf", "0.7"):
        assert all(d["confidence"] >= 0.7 for d in item["detections"])  # type: ignore[attr-defined]
