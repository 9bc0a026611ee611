"""A good part captured again: what the camera gives the next time the same good board passes.

The fixture never puts a part back to the pixel, the camera's threshold (DeepPCB's images are
binarised) falls a little differently on every edge, and the image is re-encoded. A station must not
reject such a part; a test that compares a template with itself (or a sub-pixel copy) cannot show
that it does. This simulation is used twice: as the false-reject test of ``inspection evaluate`` and as
training augmentation for models that compare a part with its reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inspection.core.channels import grey, is_two_level
from inspection.core.types import Image


@dataclass(frozen=True)
class Recapture:
    """The ranges a re-capture is drawn from (uniformly)."""

    max_shift_px: float = 3.0  # in x and in y
    max_angle_deg: float = 0.4
    max_blur_sigma: float = 0.7  # slight defocus (0: none)
    threshold_spread: int = 40  # re-binarisation threshold 128 +/- this (0: keep the grey levels)
    jpeg_quality: tuple[int, int] = (75, 95)

    def apply(self, image: Image, rng: np.random.Generator) -> Image:
        """``image`` (grey or BGR) moved, turned, blurred, re-binarised when it is binary, and JPEG re-encoded."""
        board = grey(image)
        height, width = board.shape
        dx, dy = rng.uniform(-self.max_shift_px, self.max_shift_px, size=2)
        angle = rng.uniform(-self.max_angle_deg, self.max_angle_deg)
        matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), float(angle), 1.0)
        matrix[:, 2] += (dx, dy)
        moved = cv2.warpAffine(board, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        sigma = rng.uniform(0.0, self.max_blur_sigma)
        if sigma > 0.05:
            moved = cv2.GaussianBlur(moved, (0, 0), float(sigma))
        if self.threshold_spread and is_two_level(board):
            level = 128 + int(rng.integers(-self.threshold_spread, self.threshold_spread + 1))
            moved = np.where(moved >= level, 255, 0).astype(np.uint8)
        quality = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1))
        ok, encoded = cv2.imencode(".jpg", moved, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
            return np.asarray(moved, dtype=np.uint8)
        return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE), dtype=np.uint8)


DEFAULT_RECAPTURE = Recapture()
