"""What the region classifier sees: a square crop of the image stacked with its reference (board,
reference, difference) around each golden-template region, at least ``MIN_SIDE`` px of the image (so a
tiny defect keeps its surroundings) scaled to ``CROP_PX``. The detector and the dataset builder share it."""

from __future__ import annotations

import cv2
import numpy as np

from inspection.core.boxes import Box
from inspection.core.types import Image

CROP_PX = 48
MIN_SIDE = 24
NONE = "none"  # the class of a region that is not a defect
PROPOSALS_FILE = "proposals.yaml"
# How regions become detections (hashed in the card like the proposals): region_settings.py.
REGION_SETTINGS_FILE = "regions.yaml"


def crop_region(stacked: Image, box: Box) -> Image:
    """A ``CROP_PX`` square of the stacked image around ``box`` (outside the image: white board,
    white template, no difference)."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    scale = CROP_PX / max(x2 - x1, y2 - y1, MIN_SIDE)
    matrix = np.array([[scale, 0, CROP_PX / 2 - cx * scale], [0, scale, CROP_PX / 2 - cy * scale]], np.float32)
    crop = cv2.warpAffine(stacked, matrix, (CROP_PX, CROP_PX), flags=cv2.INTER_AREA, borderValue=(255, 255, 0))
    return np.asarray(crop, dtype=np.uint8)
