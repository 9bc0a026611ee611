"""An anomaly model's score map as the record keeps it: a small grey PNG (score 0..1 as 0..255, higher
scores as 255) in base64, so that it travels in a text column, the spill journal and the fleet alike."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import numpy.typing as npt

ScoreMap = npt.NDArray[np.float32]


def encode_score_map(score_map: ScoreMap | None) -> str | None:
    if score_map is None:
        return None
    grey = np.clip(np.asarray(score_map, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    ok, png = cv2.imencode(".png", grey)
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 array
        return None
    return base64.b64encode(png.tobytes()).decode("ascii")


def decode_score_map(text: str | None) -> ScoreMap | None:
    """The map (scores 0..1), or None when there is none or it is unreadable."""
    if not text:
        return None
    try:
        data = np.frombuffer(base64.b64decode(text, validate=True), np.uint8)
    except ValueError:
        return None
    grey = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return None if grey is None else (grey.astype(np.float32) / 255.0)
