"""Model input modes: the plain image, or the image stacked with a reference image of the good part.

``image+reference`` models see three channels: the inspected image (grey), the reference (grey) and
their absolute difference. A defect is then "what differs from the good part", which a small model
learns far faster than "what looks like a defect" (measured: scripts/experiments/README.md).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from calibration.greyscale import grey
from inspection.core.types import Image

__all__ = [
    "ALIGNMENTS", "INPUT_MODES", "Alignment", "InputMode", "grey", "is_two_level", "shifted", "stack_with_reference",
]  # fmt: skip

InputMode = Literal["image", "image+reference"]
INPUT_MODES: tuple[InputMode, ...] = ("image", "image+reference")
# How a reference is registered to each part before the two are stacked: ``none`` trusts the fixture
# to the pixel (a 3 px shift then shows every edge in the difference channel as a defect).
Alignment = Literal["none", "translation", "euclidean"]
ALIGNMENTS: tuple[Alignment, ...] = ("none", "translation", "euclidean")


def is_two_level(image: Image) -> bool:
    """Mostly black and white (a binarised scan or a back-lit silhouette, even after JPEG): 95% of the pixels
    near either end."""
    board = grey(image)
    extreme = np.count_nonzero((board < 40) | (board > 215))
    return bool(extreme >= 0.95 * board.size)


def stack_with_reference(image: Image, reference: Image) -> Image:
    """(image, reference, |image - reference|) as one 3-channel uint8 image, the reference resized to fit."""
    board = grey(image)
    ref = grey(reference)
    if ref.shape != board.shape:
        ref = cv2.resize(ref, (board.shape[1], board.shape[0]), interpolation=cv2.INTER_AREA)
    return np.dstack([board, ref, cv2.absdiff(board, ref)]).astype(np.uint8, copy=False)


def shifted(image: Image, rng: np.random.Generator, max_shift: float = 1.0) -> Image:
    """The same image moved by up to ``max_shift`` pixels: a defect-free "reference" with realistic
    misalignment edges, so a model learns that such edges are not defects."""
    dx, dy = rng.uniform(-max_shift, max_shift, size=2)
    matrix = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    height, width = image.shape[:2]
    return np.asarray(cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE), dtype=np.uint8)
