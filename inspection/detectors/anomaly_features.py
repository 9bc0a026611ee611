"""How a part becomes the anomaly model's inputs: the patch network's input and the image statistics.

A model keeps the version it was trained with (its card's ``anomaly: features:``; a card without it is
version 1), so a model trained before a change still scores as it was calibrated.

- **1**: the part scaled to a square, /255; the statistics of ``image_statistics`` (brightness, edges, dark
  and bright spots at 160 px).
- **2** (what ``inspection train --task anomaly`` makes now): the part's brightness scaled so that its mean
  is 0.5 before the network (exposure drift and parts darker or brighter as a whole no longer fill the patch
  term, whose memory then covers shapes and texture: on ELPV the patch term alone went from 0.63 to 0.72
  image AUROC); the whole-part brightness stays in the statistics, which gain dark spots relative to their
  local background and thin dark lines at 320 px (``detail_statistics``; ELPV statistics alone 0.816 ->
  0.835).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from inspection.core.errors import ModelError
from inspection.core.types import Image
from inspection.detectors.image_statistics import Vector, detail_statistics, image_statistics
from inspection.detectors.processing import FloatArray, to_bgr

FEATURES_VERSION = 2  # what training makes now
MEAN_LEVEL = 0.5  # version 2: the network sees the part with this mean brightness
MAX_LEVEL = 2.0  # ... clipped here (a tiny bright spot on a black part must not become huge)
UNIT_RANGE = "scaled to a square of the input size (aspect not kept), BGR->RGB, /255"


def _unit_range(bgr: np.ndarray) -> FloatArray:
    return cv2.dnn.blobFromImage(bgr, 1.0 / 255.0, swapRB=True)  # type: ignore[no-any-return]


def _mean_levelled(bgr: np.ndarray) -> FloatArray:
    blob = _unit_range(bgr)
    mean = max(float(blob.mean()), 1.0 / 255.0)
    levelled: FloatArray = np.clip(blob * (MEAN_LEVEL / mean), 0.0, MAX_LEVEL).astype(np.float32)
    return levelled


@dataclass(frozen=True)
class FeatureVersion:
    levelled: Callable[[np.ndarray], FloatArray]
    statistics: Callable[[Image], Vector]
    preprocessing: str


VERSIONS = {
    1: FeatureVersion(_unit_range, image_statistics, UNIT_RANGE),
    2: FeatureVersion(
        _mean_levelled,
        detail_statistics,
        f"{UNIT_RANGE}, then scaled to a mean of {MEAN_LEVEL} (at most {MAX_LEVEL})",
    ),
}


@dataclass(frozen=True)
class AnomalyFeatures:
    """One version's network input and image statistics."""

    version: int = FEATURES_VERSION

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            known = ", ".join(str(v) for v in VERSIONS)
            raise ModelError(
                f"anomaly features version {self.version} is unknown to this station (it knows {known}); "
                "update the station or train the model again"
            )

    @property
    def preprocessing(self) -> str:
        return VERSIONS[self.version].preprocessing

    def network_input(self, image: Image, size: int) -> FloatArray:
        """(1, 3, size, size) RGB of the part scaled to a square."""
        bgr = cv2.resize(to_bgr(image), (size, size), interpolation=cv2.INTER_AREA)
        return VERSIONS[self.version].levelled(bgr)

    def statistics(self, image: Image) -> Vector:
        return VERSIONS[self.version].statistics(image)
