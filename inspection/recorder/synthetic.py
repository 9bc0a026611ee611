"""A synthetic inspection history written straight into a station database: for benchmarks and for
tests that need known numbers (every value follows from the seed and the settings)."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, func, insert, select

from inspection.recorder.database import open_database
from inspection.recorder.schema import DetectionRow, InspectionRow

CLASSES = ("open", "short", "mousebite", "spur", "copper", "pin-hole")


@dataclass(frozen=True)
class History:
    start: datetime
    parts: int
    interval_s: float = 10.0
    fail_rate: float = 0.05
    stations: tuple[str, ...] = ("station-1",)
    recipes: tuple[str, ...] = ("deeppcb-bare-board",)
    models: tuple[str, ...] = ("deeppcb-ref-yolov8n/model.xml",)
    class_weights: tuple[float, ...] = (0.3, 0.2, 0.2, 0.1, 0.1, 0.1)
    seed: int = 0


def rows(history: History, chunk: int = 10_000) -> Iterator[tuple[list[dict[str, object]], list[dict[str, object]]]]:
    """(inspections, detections) in chunks: part i at start + i * interval; a failed part has 1-3 counted
    detections, every part may have one uncounted near miss."""
    rng = np.random.default_rng(history.seed)
    weights = np.asarray(history.class_weights) / sum(history.class_weights)
    for first in range(0, history.parts, chunk):
        count = min(chunk, history.parts - first)
        failed = rng.random(count) < history.fail_rate
        defects = rng.integers(1, 4, count)
        near_miss = rng.random(count) < 0.2
        cycle = rng.gamma(9.0, 5.0, count)
        inspections: list[dict[str, object]] = []
        detections: list[dict[str, object]] = []
        for offset in range(count):
            number = first + offset
            record_id = uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | number).hex
            labels = list(rng.choice(CLASSES, size=int(defects[offset]), p=weights)) if failed[offset] else []
            inspections.append(
                {
                    "id": record_id,
                    "created_at": history.start + timedelta(seconds=number * history.interval_s),
                    "station": history.stations[number % len(history.stations)],
                    "camera": "0815-0000",
                    "recipe_name": history.recipes[number % len(history.recipes)],
                    "recipe_version": "1",
                    "model_name": history.models[number % len(history.models)],
                    "model_sha256": "0" * 64,
                    "part_serial": f"SN{number:09d}",
                    "verdict": "fail" if labels else "pass",
                    "reasons": json.dumps([f"1 x {label} >= 0.50" for label in labels]),
                    "grab_ms": 2.0,
                    "detect_ms": float(cycle[offset]) * 0.6,
                    "decide_ms": 0.05,
                    "cycle_ms": float(cycle[offset]),
                    "image_path": None,
                    "defects": len(labels),
                }
            )
            for label in labels:
                detections.append(_detection(record_id, label, 0.9, True))
            if near_miss[offset]:
                detections.append(_detection(record_id, str(rng.choice(CLASSES)), 0.3, False))
        yield inspections, detections


def _detection(record_id: str, label: str, confidence: float, counted: bool) -> dict[str, object]:
    return {
        "inspection_id": record_id,
        "label": label,
        "class_id": CLASSES.index(label),
        "confidence": confidence,
        "x1": 10.0,
        "y1": 20.0,
        "x2": 40.0,
        "y2": 60.0,
        "area": 1200.0,
        "counted": counted,
    }


def fill(engine: Engine, history: History) -> int:
    """Write the history; returns the number of inspections written."""
    written = 0
    for inspections, detections in rows(history):
        with engine.begin() as connection:
            connection.execute(insert(InspectionRow), inspections)
            if detections:
                connection.execute(insert(DetectionRow), detections)
        written += len(inspections)
    return written


def cached_database(folder_name: str, history: History) -> tuple[str, float | None]:
    """A SQLite file holding ``history`` in a folder of the system's temporary folder, built once and
    reused (built again when it holds another number of inspections, e.g. cut short while it was built).
    Returns its URL and the seconds the build took (None when it was reused)."""
    folder = Path(tempfile.gettempdir()) / folder_name
    folder.mkdir(exist_ok=True)
    database = folder / "inspection.db"
    url = f"sqlite:///{database}"
    engine = open_database(url)
    with engine.connect() as connection:
        held = connection.execute(select(func.count()).select_from(InspectionRow)).scalar_one()
    built = None
    if held != history.parts:
        engine.dispose()
        database.unlink()
        engine = open_database(url)
        started = time.perf_counter()
        fill(engine, history)
        built = time.perf_counter() - started
    engine.dispose()
    return url, built
