"""Image helpers shared by the calibration modules (and the station core, which may import them)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt


def grey(image: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The image as one channel: mono as it is, BGR converted (same depth)."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[:, :, 0]
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
