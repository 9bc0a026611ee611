"""The image-level term of the anomaly detector: a few statistics of the whole part (brightness, contrast,
edges, dark and bright spots against the local background), compared with those of the good parts by the
distance to the nearest few. A part can be wrong as a whole (too dark, a smeared print, a region gone
missing) without any one patch looking unusual, and such parts share no position, so it needs no
alignment. Numpy and OpenCV only: every backend of the patch network shares it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from inspection.core.atomic import save_arrays_atomic
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
    """The statistics of the good parts a model was trained on, standardised per component; and, for a model
    trained since 2026-12-07, the direction in which made-up defects move them (``defect_weights``, a logistic
    regression of the standardised statistics: ``ml/anomaly/made_up.py``)."""

    vectors: Vector  # (parts, components), standardised
    mean: Vector
    scale: Vector
    defect_weights: Vector | None = None
    defect_bias: float = 0.0

    @classmethod
    def of(cls, raw: Vector) -> GoodStatistics:
        mean = raw.mean(axis=0)
        scale = raw.std(axis=0) + 1e-6
        return cls(((raw - mean) / scale).astype(np.float32), mean.astype(np.float32), scale.astype(np.float32))

    def standard(self, raw: Vector) -> Vector:
        return ((raw - self.mean) / self.scale).astype(np.float32)

    def defect_logit(self, raw: Vector) -> float:
        """How far the part's statistics lie in the made-up defects' direction (a logit; 0 without one)."""
        if self.defect_weights is None:
            return 0.0
        return float(self.standard(raw) @ self.defect_weights + self.defect_bias)

    def save(self, path: Path) -> None:
        """Written whole or not at all (``.partial`` first)."""
        arrays: dict[str, np.ndarray] = {"vectors": self.vectors, "mean": self.mean, "scale": self.scale}
        if self.defect_weights is not None:
            arrays |= {"defect_weights": self.defect_weights, "defect_bias": np.asarray(self.defect_bias, np.float32)}
        save_arrays_atomic(path, arrays)

    @classmethod
    def load(cls, path: Path) -> GoodStatistics:
        with np.load(path) as data:
            weights = data.get("defect_weights")
            bias = float(data.get("defect_bias", 0.0))
            return cls(data["vectors"], data["mean"], data["scale"], weights, bias)

    def distance(self, raw: Vector) -> float:
        """Mean distance of one part's statistics to its nearest good parts (0: like a good one)."""
        standard = self.standard(raw)
        distances = np.sqrt(((self.vectors - standard) ** 2).sum(axis=1))
        nearest = np.sort(distances)[: min(NEIGHBOURS, len(distances))]
        return float(nearest.mean())


DETAIL_PX = 320  # the finer statistics of version 2 are taken at this size
DETAIL_BACKGROUND = 31  # window of the local background (median) at that size
DARK_LEVELS = (0.15, 0.25, 0.35, 0.5)  # darker than the local background by this share
LINE_LEVELS = (0.05, 0.1, 0.2)  # strength of a dark line (scale-normalised curvature across it)
LINE_SIGMAS = (1.0, 2.0)
OBLIQUE = 0.3  # a line is oblique beyond asin(0.3), about 17 degrees, from both axes


def _inner(values: np.ndarray) -> np.ndarray:
    """Without a border of 1/16 of the size (edges of the part and of the filters)."""
    margin = values.shape[0] // 16
    return values[margin:-margin, margin:-margin]


def _largest_areas(mask: np.ndarray, count: int = 3) -> list[float]:
    found, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    areas = np.sort(stats[1:found, cv2.CC_STAT_AREA])[::-1][:count].astype(np.float32)
    return list(np.log1p(np.pad(areas, (0, count - len(areas)))))


def dark_spots(small: np.ndarray) -> list[float]:
    """How much of the part is darker than its local background, relative to it (so the same for any exposure):
    the darkest percentiles, the share beyond each level and the areas of the three largest dark regions."""
    background = cv2.medianBlur(small, DETAIL_BACKGROUND).astype(np.float32) + 1.0
    darker = _inner(1.0 - small.astype(np.float32) / background)
    shares = [float((darker > level).mean()) for level in DARK_LEVELS]
    return list(np.percentile(darker, (95, 98, 99, 99.5, 99.9))) + shares + _largest_areas(darker > DARK_LEVELS[1])


def dark_lines(small: np.ndarray, sigma: float) -> list[float]:
    """Thin dark lines at one scale (a crack, a scratch, a fibre): the curvature across a line of the part scaled
    to its median brightness; the share of strong ones, and of those running neither along x nor along y (a
    part's own edges mostly do), and the top percentiles."""
    values = cv2.GaussianBlur((small / (float(np.median(small)) + 1.0)).astype(np.float32), (0, 0), sigma)
    xx, yy = cv2.Sobel(values, cv2.CV_32F, 2, 0), cv2.Sobel(values, cv2.CV_32F, 0, 2)
    xy = cv2.Sobel(values, cv2.CV_32F, 1, 1)
    spread = np.sqrt(((xx - yy) / 2) ** 2 + xy**2)
    across = _inner(((xx + yy) / 2 + spread) * sigma**2)
    # The line runs at an angle t with min(|sin t|, |cos t|) > OBLIQUE, i.e. |sin 2t| = |xy| / spread above:
    oblique = _inner(np.abs(xy) > 2 * OBLIQUE * np.sqrt(1 - OBLIQUE**2) * spread)
    shares = []
    for level in LINE_LEVELS:
        shares += [float((across > level).mean()), float(((across > level) & oblique).mean())]
    top = float(np.percentile(across[oblique], 99.5)) if oblique.any() else 0.0
    return shares + list(np.percentile(across, (99, 99.9))) + [top]


def detail_statistics(image: Image) -> Vector:
    """Version 2: the statistics of version 1 and, at a finer scale, dark spots and thin dark lines."""
    small = cv2.resize(grey(image), (DETAIL_PX, DETAIL_PX), interpolation=cv2.INTER_AREA)
    parts = [image_statistics(image), dark_spots(small)] + [dark_lines(small, sigma) for sigma in LINE_SIGMAS]
    return np.concatenate([np.asarray(part, np.float32) for part in parts])
