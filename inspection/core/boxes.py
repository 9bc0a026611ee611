"""Box geometry shared by evaluation, parity and comparison."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Box = tuple[float, float, float, float]


def iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> np.ndarray:
    """Pairwise IoU, shape ``(len(a), len(b))``; boxes are x1, y1, x2, y2."""
    if not a or not b:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    first = np.asarray(a, dtype=np.float64)[:, None, :]
    second = np.asarray(b, dtype=np.float64)[None, :, :]
    width = np.clip(np.minimum(first[..., 2], second[..., 2]) - np.maximum(first[..., 0], second[..., 0]), 0, None)
    height = np.clip(np.minimum(first[..., 3], second[..., 3]) - np.maximum(first[..., 1], second[..., 1]), 0, None)
    inter = width * height
    area_a = (first[..., 2] - first[..., 0]) * (first[..., 3] - first[..., 1])
    area_b = (second[..., 2] - second[..., 0]) * (second[..., 3] - second[..., 1])
    return np.asarray(inter / np.maximum(area_a + area_b - inter, 1e-12))
