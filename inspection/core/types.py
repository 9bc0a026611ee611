"""The plain data types that cross every boundary of the station."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass
class Frame:
    """One image from a camera; ``image`` is HxW (mono) or HxWx3 (BGR) uint8."""

    image: Image
    camera: str
    index: int
    timestamp: float = field(default_factory=time.time)
    source_name: str | None = None  # file name when replaying images
    part_serial: str | None = None
    lot: str | None = None
    triggered: bool = True
    grab_ms: float = 0.0
    trigger_id: int | None = None  # the camera's count of the triggers it received (None: it counts none)
    # A part seen by several cameras: each view's frame, or why it has none (this frame is the first view's)
    views: dict[str, Frame | str] | None = None


@dataclass(frozen=True)
class Detection:
    label: str
    class_id: int
    confidence: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in original-image pixels

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return max(0.0, x2 - x1) * max(0.0, y2 - y1)

    def to_json(self) -> dict[str, object]:
        return {
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "box": [round(v, 1) for v in self.box],
        }


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reasons: tuple[str, ...]
    kept: tuple[Detection, ...]  # detections that survived the recipe's filters


@dataclass
class ViewResult:
    """One camera's view of a part: its verdict by its own recipe, or the reason it has no image."""

    view: str
    camera: str
    verdict: Verdict
    reasons: tuple[str, ...]
    detections: tuple[Detection, ...] = ()
    kept: tuple[Detection, ...] = ()
    recipe_name: str = ""
    recipe_sha256: str | None = None
    model_name: str = ""
    detect_ms: float = 0.0
    source_name: str | None = None
    reference_name: str | None = None
    missing: bool = False  # no image came within the view timeout (counted as a fault)
    image_path: str | None = None  # set by the writer


@dataclass
class InspectionRecord:
    """Everything recorded about one inspected part."""

    id: str
    timestamp: float
    station: str
    camera: str
    recipe_name: str
    recipe_version: str
    model_name: str
    model_sha256: str
    verdict: Verdict
    reasons: tuple[str, ...]
    detections: tuple[Detection, ...]  # everything the detector reported
    latencies_ms: dict[str, float]
    part_serial: str | None = None
    lot: str | None = None
    source_name: str | None = None
    reference_name: str | None = None  # the reference image the part was compared with, if any
    mm_per_px: float | None = None  # the station's scale when the part was inspected (sizes in mm)
    image_path: str | None = None
    annotated_path: str | None = None
    kept: tuple[Detection, ...] = ()  # the detections that counted towards the verdict
    recipe_sha256: str | None = None  # the effective recipe that judged it (rules, model, references)
    anomaly_score: float | None = None  # an anomaly model's score of the part (0.5: its threshold)
    anomaly_map: npt.NDArray[np.float32] | None = None  # and its map of patch scores (network resolution)
    views: tuple[ViewResult, ...] = ()  # a multi-camera part: one result per view (the record: the part's)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex
