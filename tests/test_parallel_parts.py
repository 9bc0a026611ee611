"""Parts inspected side by side (``pipeline.parallel_parts``) finish in the order they were grabbed: the
records, the PLC's results, the outputs and the events see one sequence, whichever worker was faster.

Real station runs on the pylon emulator into a real SQLite file, with a detector added through the
registry (as a plug-in would) whose odd calls are slow, so the second of two parts in flight is always
ready first."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from conftest import DEMO_RECIPE, run_station, write_station

from inspection.core.events import InspectionDone
from inspection.core.hashing import file_sha256
from inspection.core.types import Detection, Image
from inspection.detectors import factory
from inspection.detectors.base import Detector, ModelInfo
from inspection.detectors.loading import DetectorType, LoadRequest
from inspection.station.pipeline import Station

SLOW_S = 0.08


class UnevenDetector(Detector):
    """Every odd call takes ``SLOW_S``, every even one no time; it fails on the call its file names (0: never).
    It counts how many calls ran at once."""

    made: ClassVar[list[UnevenDetector]] = []

    def __init__(self, request: LoadRequest, concurrent: bool) -> None:
        settings = yaml.safe_load(request.path.read_text())
        self.fail_on = int(settings["fail_on"])
        self._concurrent = concurrent
        classes = yaml.safe_load(DEMO_RECIPE.read_text())["classes"]
        self.info = ModelInfo(
            f"plugin/{request.path.name}", request.path, file_sha256(request.path), classes, "uneven", "cpu", 0, 1
        )
        self._lock = threading.Lock()
        self.calls = self.active = self.most_at_once = 0
        UnevenDetector.made.append(self)

    @property
    def concurrent(self) -> bool:
        return self._concurrent

    def _detect(self, image: Image, min_confidence: float) -> tuple[list[Detection], str | None]:
        return self.predict_prepared(image, min_confidence), None

    def predict_prepared(self, image: Image, min_confidence: float) -> list[Detection]:
        with self._lock:
            self.calls += 1
            call = self.calls
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
        try:
            if call == self.fail_on:
                raise RuntimeError(f"the detector broke on call {call}")
            time.sleep(SLOW_S if call % 2 else 0.0)
            return [Detection("open", 0, 0.9, (0.0, 0.0, 20.0, 20.0))] if call % 3 == 0 else []
        finally:
            with self._lock:
                self.active -= 1


@pytest.fixture
def uneven(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "DETECTOR_TYPES", list(factory.DETECTOR_TYPES))
    for suffix, concurrent in ((".uneven", True), (".uneven1", False)):
        factory.register_detector(
            DetectorType(
                f"uneven{suffix}",
                claims=lambda request, suffix=suffix: request.path.suffix == suffix,  # type: ignore[misc]
                load=lambda request, concurrent=concurrent: UnevenDetector(request, concurrent),  # type: ignore[misc]
                describe=f"a {suffix} file",
            )
        )
    UnevenDetector.made.clear()


def uneven_station(tmp_path: Path, parallel: int, concurrent: bool = True, fail_on: int = 0) -> Path:
    tmp_path.mkdir(exist_ok=True)
    model = tmp_path / ("model.uneven" if concurrent else "model.uneven1")
    model.write_text(yaml.safe_dump({"fail_on": fail_on}))
    recipe = yaml.safe_load(DEMO_RECIPE.read_text())
    recipe.update(model=str(model), reference=None)
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    return write_station(tmp_path, recipe=str(tmp_path / "recipe.yaml"), pipeline={"parallel_parts": parallel})


def run_uneven(config: Path, parts: int) -> tuple[Station, list[InspectionDone], list[tuple[str, str]]]:
    events: list[InspectionDone] = []
    built: list[Station] = []

    def prepare(station: Station) -> None:
        built.append(station)
        station.bus.subscribe(lambda event: events.append(event) if isinstance(event, InspectionDone) else None)

    summary = run_station(config, prepare, parts=parts)
    assert summary.records_written == len(events) or summary.errors
    with sqlite3.connect(config.parent / "data" / "inspection.db") as db:
        rows = db.execute("SELECT id, verdict FROM inspections ORDER BY rowid").fetchall()
    return built[0], events, rows


def test_two_parts_at_once_finish_in_grab_order(uneven: None, tmp_path: Path) -> None:
    station, events, rows = run_uneven(uneven_station(tmp_path, parallel=2), parts=20)
    (detector,) = UnevenDetector.made
    assert detector.most_at_once == 2  # the fast even part ran beside the slow odd one ...
    grabbed = [event.frame.timestamp for event in events]
    assert len(rows) == len(events) == 20
    assert grabbed == sorted(grabbed)  # ... and still came out after it
    assert [row[0] for row in rows] == [event.record.id for event in events]  # written in that order, each once
    assert [event.record.verdict.value for event in events] == [row[1] for row in rows]
    assert station.detect_workers.parallel == 2


def test_one_part_at_a_time_when_asked_or_when_the_detector_takes_one(uneven: None, tmp_path: Path) -> None:
    _, events, rows = run_uneven(uneven_station(tmp_path / "one", parallel=1), parts=8)
    _, events_serial, rows_serial = run_uneven(uneven_station(tmp_path / "serial", 2, concurrent=False), parts=8)
    one, serial = UnevenDetector.made
    assert one.most_at_once == 1 and len(rows) == 8
    assert serial.most_at_once == 1 and len(rows_serial) == 8  # two workers, but the detector is called by one
    for done in (events, events_serial):
        grabbed = [event.frame.timestamp for event in done]
        assert grabbed == sorted(grabbed)


def test_a_detector_failure_lets_the_parts_before_it_finish_and_stops(uneven: None, tmp_path: Path) -> None:
    station, events, rows = run_uneven(uneven_station(tmp_path, parallel=2, fail_on=7), parts=30)
    assert any("detector: the detector broke on call 7" in error for error in station._errors)
    grabbed = [event.frame.timestamp for event in events]
    assert grabbed == sorted(grabbed) and [row[0] for row in rows] == [event.record.id for event in events]
    assert 6 <= len(rows) <= 7  # calls 1-6 finish before 7's turn; the one beside 7 may finish after it
