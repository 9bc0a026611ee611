"""The image-level term of the anomaly detector: a few statistics of the whole part (brightness, contrast,
edges, dark and bright spots against the local background), compared with those of the good parts by the
distance to the nearest few. A part can be wrong as a whole (too dark, a smeared print, a region gone
missing) without any one patch looking unusual, and such parts share no position, so it needs no
alignment. Numpy and OpenCV only: every backend of the patch network shares it."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from inspection.core.channels import grey
from inspection.core.types import Image

Vector = npt.NDArray[np.float32]
PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99)
SPOT_PERCENTILES = (50, 90, 99, 99.9)
STATISTICS_PX = 160  # the statistics are taken on the part scaled to this size (a fixed scale: comparable)
SPOT_WINDOW = 15  # the local background of a dark or bright spot (median over this many pixels, at that size)
NEIGHBOURS = 3


def image_statistics(image: Image) -> Vector:
    """The statistics vector of one part (any size, grey or colour)."""
    small = cv2.resize(grey(image), (STATISTICS_PX, STATISTICS_PX), interpolation=cv2.INTER_AREA)
    values = small.astype(np.float32)
    smooth = cv2.GaussianBlur(values, (0, 0), 1.5)
    edges = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1))
    background = cv2.medianBlur(small, SPOT_WINDOW).astype(np.float32)
    dark, bright = np.maximum(background - values, 0), np.maximum(values - background, 0)
    parts = [
        np.percentile(values, PERCENTILES),
        np.percentile(edges, PERCENTILES),
        np.percentile(dark, SPOT_PERCENTILES),
        np.percentile(bright, SPOT_PERCENTILES),
        [values.mean(), values.std()],
    ]
    return np.concatenate(parts).astype(np.float32)


@dataclass(frozen=True)
class GoodStatistics:
    """The statistics of the good parts a model was trained on, standardised per component."""

    vectors: Vector  # (parts, components), standardised
    mean: Vector
    scale: Vector

    @classmethod
    def of(cls, raw: Vector) -> GoodStatistics:
        mean = raw.mean(axis=0)
        scale = raw.std(axis=0) + 1e-6
        return cls(((raw - mean) / scale).astype(np.float32), mean.astype(np.float32), scale.astype(np.float32))

    def distance(self, raw: Vector) -> float:
        """Mean distance of one part's statistics to its nearest good parts (0: like a good one)."""
        standard = (raw - self.mean) / self.scale
        distances = np.sqrt(((self.vectors - standard) ** 2).sum(axis=1))
        nearest = np.sort(distances)[: min(NEIGHBOURS, len(distances))]
        return float(nearest.mean())
