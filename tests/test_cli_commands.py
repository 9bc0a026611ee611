"""``inspection cameras`` and ``inspection bench`` against the emulator and the bundled model."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_cameras_lists_the_emulated_basler_cameras() -> None:
    result = run_cli("cameras", "--emulated", "2", "--emulator-only", "--json")
    assert result.returncode == 0, result.stderr
    cameras = json.loads(result.stdout)
    pylon = [c for c in cameras if c["type"] == "pylon"]
    assert [c["serial"] for c in pylon] == ["0815-0000", "0815-0001"]
    assert all(c["emulated"] == "true" and c["model"] for c in pylon)


def test_bench_json_reports_both_throughputs(station_yaml: Path) -> None:
    result = run_cli("bench", "--config", str(station_yaml), "--parts", "12", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for key in ("detector_fps", "station_fps", "ratio", "latency_ms_median", "latency_ms_p99", "peak_rss_mb"):
        assert figures[key] > 0, key
    assert abs(figures["ratio"] - figures["station_fps"] / figures["detector_fps"]) < 0.01
    assert figures["records_written"] == figures["images_written"] == 12
    assert figures["latency_ms_p99_at_80pct"] > 0 and figures["paced_parts_per_s"] > 0
    assert figures["backend_selected"]["device"] in ("cpu", "cuda:0") and figures["backend_selected"]["reason"]


def test_every_command_has_help() -> None:
    commands = (
        ["run"], ["inspect"], ["cameras"], ["bench"], ["dataset"], ["dataset", "import"], ["train"], ["evaluate"],
        ["export"], ["compare"], ["models"], ["models", "list"], ["models", "show"], ["models", "register"],
        ["models", "promote"], ["gui"],
    )  # fmt: skip
    for command in commands:
        result = run_cli(*command, "--help")
        assert result.returncode == 0 and "usage: inspection" in result.stdout, command


def test_bench_backends_reports_each_backend_with_its_verdicts() -> None:
    result = run_cli("bench", "--backends", "--parts", "6", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    backends = report["backends"]
    assert {"ultralytics-predict", "onnxruntime", "openvino"} <= set(backends)
    for name, row in backends.items():
        assert row["fps"] > 0 and row["verdicts_identical"] is True, name
    assert report["default_backend"] in backends
    default, reference = backends[report["default_backend"]], backends["ultralytics-predict"]
    # The demo's two-stage model: the backends run its classifier; the proposals are the same for all.
    assert report["default_speedup"] == round(default["network_fps"] / reference["network_fps"], 2)
    assert report["default_speedup_whole_part"] == round(default["fps"] / reference["fps"], 2)
