"""The rows and images of a multi-camera part's views: one ``inspection_views`` row per view, each
detection tagged with its view, each view's image archived beside the part's (``<id>_<view>``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from inspection.core.types import Detection, Image, InspectionRecord, ViewResult
from inspection.recorder.archive import ImageArchive


def detection_row(record_id: str, detection: Detection, counted: bool, view: str | None = None) -> dict[str, Any]:
    x1, y1, x2, y2 = detection.box
    return {
        "inspection_id": record_id, "label": detection.label, "class_id": detection.class_id,
        "confidence": detection.confidence, "x1": x1, "y1": y1, "x2": x2, "y2": y2, "area": detection.area,
        "counted": counted, "view": view,
    }  # fmt: skip


def stored_detections(record_id: str, detections: tuple[Detection, ...], kept: tuple[Detection, ...], floor: float,
                      view: str | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The detections kept in the database: those that counted, and the near misses from ``floor`` on."""
    counted = set(kept)
    return [
        detection_row(record_id, d, d in counted, view) for d in detections if d in counted or d.confidence >= floor
    ]


def view_detections(record: InspectionRecord, floor: float) -> list[dict[str, Any]]:
    return [row for v in record.views for row in stored_detections(record.id, v.detections, v.kept, floor, v.view)]


def view_rows(record: InspectionRecord) -> list[dict[str, Any]]:
    return [_view_row(record.id, view) for view in record.views]


def _view_row(record_id: str, view: ViewResult) -> dict[str, Any]:
    return {
        "inspection_id": record_id, "view": view.view, "camera": view.camera, "verdict": view.verdict.value,
        "reasons": json.dumps(list(view.reasons)), "missing": view.missing, "recipe_name": view.recipe_name,
        "recipe_sha256": view.recipe_sha256, "model_name": view.model_name, "detect_ms": view.detect_ms,
        "defects": len(view.kept), "source_name": view.source_name, "reference_name": view.reference_name,
        "image_path": view.image_path,
    }  # fmt: skip


def write_view_images(archive: ImageArchive, record: InspectionRecord, images: dict[str, Image]) -> None:
    """Each view's image (fsync'ed by the archive); the part's image is the first view's."""
    when = datetime.fromtimestamp(record.timestamp, UTC)
    for view in record.views:
        image = images.get(view.view)
        if image is None:
            continue
        relative = archive.relative_path(when, record.id, f"_{view.view}")
        archive.write(relative, image)
        view.image_path = relative.as_posix()
    record.image_path = next((view.image_path for view in record.views if view.image_path), None)
