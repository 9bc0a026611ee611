"""The detector interface."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inspection.core.channels import InputMode
from inspection.core.errors import ModelError
from inspection.core.types import Detection, Image
from inspection.detectors.processing import FloatArray, decode, make_batch
from inspection.detectors.reference import References

__all__ = ["Detector", "ModelInfo", "model_name", "resolve_threads", "usable_cores"]


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
    input_mode: InputMode = "image"
    precision: str = "f32"  # what the network computes in (an OpenVINO export may run in bf16)


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
    """``<model folder>/<file>``: registry folders name the model, files are often just ``model.pt``
    (an OpenVINO export sits one folder deeper: ``<model folder>/model_openvino/model.xml``)."""
    if path.parent.name.endswith("_openvino"):
        return f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
    return f"{path.parent.name}/{path.name}"


class Detector(ABC):
    """Load once, warm up, then predict batches of images."""

    info: ModelInfo
    iou: float = 0.5
    min_confidence: float = 0.05  # nothing below this is reported; the station sets it from the recipe

    @abstractmethod
    def _forward(self, batch: FloatArray) -> FloatArray:
        """Run the network on a letterboxed batch; return ``(batch, 4 + classes, anchors)``."""

    references: References | None = None  # for ``image+reference`` models
    last_reference: str | None = None  # the reference the last prepared image was stacked with

    def prepare(self, image: Image) -> Image:
        """The network's input image: the image itself, or stacked with its nearest reference."""
        if self.info.input_mode == "image":
            return image
        return self.stack_reference(image)[1]

    def stack_reference(self, image: Image) -> tuple[int, Image]:
        """The nearest reference's index, and the image stacked with it (board, reference, difference)."""
        if self.references is None:
            raise ModelError(f"{self.info.path}: this model needs a reference image of the good part")
        index, stacked = self.references.stack(image)
        self.last_reference = self.references.names[index]
        return index, stacked

    def predict(self, images: list[Image]) -> list[list[Detection]]:
        """Detections on camera images (stacked with their reference first where the model needs one)."""
        return self.predict_prepared([self.prepare(image) for image in images])

    def predict_prepared(self, images: list[Image]) -> list[list[Detection]]:
        """Detections on images already in the network's input form (e.g. a stacked dataset)."""
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
            self.predict_prepared([blank])

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release the model (optional)."""
