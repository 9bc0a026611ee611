"""The detector interface."""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inspection.detectors.processing import FloatArray, decode, make_batch
from inspection.types import Detection, Image


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    sha256: str
    classes: list[str]
    backend: str
    device: str
    imgsz: int
    threads: int


def resolve_threads(requested: int | str) -> int:
    """CPU threads for inference: ``auto`` leaves one core to the camera and the record writer.

    On a small CPU this matters more than any other setting: a detector that spins on every core
    starves the grab and write threads, and the station then runs at half the detector's speed.
    """
    if requested != "auto":
        return max(1, int(requested))
    return max(1, usable_cores() - 1)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def model_name(path: Path) -> str:
    """``<model folder>/<file>``: registry folders name the model, files are often just ``model.pt``."""
    return f"{path.parent.name}/{path.name}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Detector(ABC):
    """Load once, warm up, then predict batches of images."""

    info: ModelInfo
    iou: float = 0.5
    min_confidence: float = 0.05  # nothing below this is reported; the station sets it from the recipe

    @abstractmethod
    def _forward(self, batch: FloatArray) -> FloatArray:
        """Run the network on a letterboxed batch; return ``(batch, 4 + classes, anchors)``."""

    def predict(self, images: list[Image]) -> list[list[Detection]]:
        if not images:
            return []
        batch, geometry = make_batch(images, self.info.imgsz)
        raw = self._forward(batch)
        return [
            decode(raw[i], geometry[i], self.info.classes, self.iou, self.min_confidence) for i in range(len(images))
        ]

    def warm_up(self, runs: int = 2) -> None:
        """Run blank images so the first real part is not slow (allocations, kernel selection)."""
        blank = np.zeros((self.info.imgsz, self.info.imgsz, 3), dtype=np.uint8)
        for _ in range(runs):
            self.predict([blank])

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release the model (optional)."""
