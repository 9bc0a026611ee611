"""The extension points of docs/architecture.md, used as a plug-in would: a detector type, a line output and
a camera type added through their registries (no file of the station edited), then real station runs with
them (on the pylon emulator, or the plug-in camera) into a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import yaml
from conftest import DEMO_RECIPE, run_station, write_station

from inspection.cameras import CameraSource
from inspection.cameras import registry as cameras
from inspection.config import OtherCamera, load_station_config
from inspection.core.errors import ConfigError
from inspection.core.hashing import file_sha256
from inspection.core.types import Detection, Frame, Image, InspectionRecord
from inspection.detectors import factory
from inspection.detectors.base import Detector, ModelInfo
from inspection.detectors.loading import DetectorType, LoadRequest
from inspection.outputs import registry
from inspection.outputs.base import Output, OutputContext
from inspection.station.pipeline import Station


class CornerDetector(Detector):
    """Reports one 'open' in the image's top-left corner when the image's mean is below the file's
    threshold: a detector whose answer follows from its model file and the image."""

    def __init__(self, request: LoadRequest) -> None:
        self.threshold = float(request.path.read_text())
        classes = yaml.safe_load(DEMO_RECIPE.read_text())["classes"]
        self.info = ModelInfo(
            f"plugin/{request.path.name}", request.path, file_sha256(request.path), classes, "corner", "cpu", 0, 1
        )
        self.seen = 0

    def _detect(self, image: Image, min_confidence: float) -> tuple[list[Detection], str | None]:
        return self.predict_prepared(image, min_confidence), None

    def predict_prepared(self, image: Image, min_confidence: float) -> list[Detection]:
        self.seen += 1
        if image.mean() >= self.threshold:
            return []
        return [Detection("open", 0, 0.9, (0.0, 0.0, 20.0, 20.0))]


class TallyOutput(Output):
    """Counts verdicts; its settings come from the station file's ``outputs: {tally: ...}``."""

    name = "tally"
    separable = True  # it says so, but only the station's process knows its type: it stays there
    made: ClassVar[list[TallyOutput]] = []

    def __init__(self, settings: dict[str, object]) -> None:
        self.label = str(settings["label"])
        self.records: list[InspectionRecord] = []
        self.events = {"started": 0, "written": 0, "closed": 0}
        TallyOutput.made.append(self)

    def start(self) -> None:
        self.events["started"] += 1

    def record(self, record: InspectionRecord) -> None:
        self.records.append(record)

    def records_written(self) -> None:
        self.events["written"] += 1

    def close(self) -> None:
        self.events["closed"] += 1

    def status(self) -> dict[str, int]:
        return {"records": len(self.records)}


class FlatCamera(CameraSource):
    """Software-triggered frames of one grey level (its settings: ``level``), as a plug-in camera would."""

    paced_by_station = True

    def __init__(self, settings: OtherCamera) -> None:
        self.level = int(settings.settings()["level"])
        self.name = f"flat-{self.level}"
        self.grabbed = 0

    def open(self) -> None:
        self.grabbed = 0

    def grab(self) -> Frame | None:
        self.grabbed += 1
        image = np.full((64, 64), self.level, np.uint8)
        return Frame(image, self.name, self.grabbed, source_name=f"flat{self.grabbed}.png")

    def close(self) -> None:
        pass


def tally(context: OutputContext) -> Output | None:
    settings = context.settings("tally")
    return None if settings is None else TallyOutput(settings)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both registered for this test only (the registries are restored after it)."""
    monkeypatch.setattr(factory, "DETECTOR_TYPES", list(factory.DETECTOR_TYPES))
    monkeypatch.setattr(registry, "OUTPUT_TYPES", dict(registry.OUTPUT_TYPES))
    factory.register_detector(
        DetectorType(
            "corner",
            claims=lambda request: request.path.suffix == ".corner",
            load=CornerDetector,
            describe="a .corner threshold file",
        )
    )
    registry.register_output("tally", tally)
    monkeypatch.setattr(cameras, "CAMERA_TYPES", dict(cameras.CAMERA_TYPES))
    cameras.register_camera("flat", FlatCamera)
    TallyOutput.made.clear()


def plugin_station(tmp_path: Path, threshold: float, **overrides: object) -> Path:
    tmp_path.mkdir(exist_ok=True)
    model = tmp_path / "model.corner"
    model.write_text(str(threshold))
    recipe = yaml.safe_load(DEMO_RECIPE.read_text())
    recipe.update(model=str(model), reference=None)
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return write_station(tmp_path, recipe=str(tmp_path / "recipe.yaml"), **overrides)


def test_a_registered_detector_and_output_run_in_the_station(plugins: None, tmp_path: Path) -> None:
    config = plugin_station(tmp_path, threshold=256.0, outputs={"tally": {"label": "line 3"}})  # every part fails
    summary = run_station(config, parts=4)
    assert summary.records_written == 4 and summary.stats.failed == 4
    (output,) = TallyOutput.made
    assert output.label == "line 3" and len(output.records) == 4
    assert output.events == {"started": 1, "written": 1, "closed": 1}
    assert all(
        record.verdict.value == "fail" and record.model_name == "plugin/model.corner" for record in output.records
    )
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        rows = db.execute("SELECT model_name, verdict FROM inspections").fetchall()
    assert rows == [("plugin/model.corner", "fail")] * 4


def test_a_registered_detector_decides_by_its_own_file(plugins: None, tmp_path: Path) -> None:
    summary = run_station(plugin_station(tmp_path, threshold=0.0), parts=3)  # no image is darker than 0
    assert summary.stats.passed == 3 and TallyOutput.made == []  # not configured: not made


def test_an_unknown_output_type_is_refused_with_the_known_ones(plugins: None, tmp_path: Path) -> None:
    config = load_station_config(plugin_station(tmp_path, threshold=1.0, outputs={"opc-da": {}}))
    with pytest.raises(
        ConfigError, match=r"unknown output type \['opc-da'\]; known: \['control', 'fleet', 'mqtt', 'opcua', 'tally'\]"
    ):
        Station(config)


def test_a_registered_camera_feeds_the_station(plugins: None, tmp_path: Path) -> None:
    dark = plugin_station(tmp_path / "dark", threshold=100.0, camera={"type": "flat", "level": 40})
    bright = plugin_station(tmp_path / "bright", threshold=100.0, camera={"type": "flat", "level": 200})
    assert run_station(dark, parts=3).stats.failed == 3
    summary = run_station(bright, parts=3)
    assert summary.stats.passed == 3 and summary.camera.frames == 3
    with sqlite3.connect(tmp_path / "bright" / "data" / "inspection.db") as db:
        assert {row[0] for row in db.execute("SELECT camera FROM inspections")} == {"flat-200"}
