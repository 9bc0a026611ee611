"""Shared fixtures. Real parts only: pylon's camera emulator, real SQLite files, the bundled model."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("PYLON_CAMEMU", "2")  # before anything imports pypylon
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from inspection.config import load_station_config
from inspection.station.pipeline import Station
from inspection.station.run_summary import RunSummary

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_IMAGES = ROOT / "datasets" / "deeppcb-sample" / "images"
DEMO_RECIPE = ROOT / "configs" / "recipes" / "deeppcb.yaml"
BUNDLED_MODEL = ROOT / "models" / "deeppcb-yolov8n" / "model.pt"


def write_station(
    tmp_path: Path, camera: dict[str, object] | None = None, image_folder: Path = SAMPLE_IMAGES, **overrides: object
) -> Path:
    """A station YAML in tmp_path: emulated camera replaying ``image_folder`` (the sample), data in tmp_path/data."""
    config: dict[str, object] = {
        "station": "test-station",
        "camera": camera
        or {
            "type": "pylon",
            "emulated": 2,
            "serial": "0815-0000",
            "image_folder": str(image_folder),
            "trigger": {"mode": "software"},
            "timeout_ms": 1000,
            "reconnect": {"initial_s": 0.05, "max_s": 0.5},
        },
        "recipe": str(DEMO_RECIPE),
        "storage": {"data_dir": str(tmp_path / "data")},
    }
    config.update(overrides)
    path = tmp_path / "station.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_cli(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``inspection`` command in a fresh interpreter."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "inspection.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
    )


@pytest.fixture(autouse=True)
def _garbage_collected_on_the_main_thread(request: pytest.FixtureRequest) -> Any:
    """A Qt test's closed windows are freed on the main thread at its end, as the app does
    (gui/gc_guard.py): Python's collector on a station thread would delete Qt objects there and crash."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


@pytest.fixture
def station_yaml(tmp_path: Path) -> Path:
    return write_station(tmp_path)


def run_station(config_path: Path, prepare: Callable[[Station], None] | None = None, **run: Any) -> RunSummary:
    """Build the real station from a YAML file, let a test subscribe or inject, run it, close it."""
    station = Station(load_station_config(config_path))
    try:
        if prepare is not None:
            prepare(station)
        return station.run(**run)
    finally:
        station.close()
