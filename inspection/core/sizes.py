"""Defect sizes in millimetres: the longest side and the area of a detection's box (on the undistorted
image), times the station's scale."""

from __future__ import annotations

from inspection.core.types import Detection


def size_mm(detection: Detection, mm_per_px: float) -> tuple[float, float]:
    """(longest side in mm, box area in mm^2)."""
    x1, y1, x2, y2 = detection.box
    return max(x2 - x1, y2 - y1) * mm_per_px, detection.area * mm_per_px * mm_per_px


def describe_size(detection: Detection, mm_per_px: float | None) -> str:
    """``"1.25 x 0.80 mm"`` with a scale, ``"60 x 38 px"`` without."""
    x1, y1, x2, y2 = detection.box
    if mm_per_px is None:
        return f"{x2 - x1:.0f} x {y2 - y1:.0f} px"
    return f"{(x2 - x1) * mm_per_px:.2f} x {(y2 - y1) * mm_per_px:.2f} mm"
