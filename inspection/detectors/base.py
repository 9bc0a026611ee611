"""The detector interface."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from inspection.core.channels import InputMode
from inspection.core.errors import ModelError, PartMismatchError
from inspection.core.types import Detection, Image
from inspection.detectors.reference import References

__all__ = [
    "Detector", "ModelInfo", "Prediction", "model_name", "resolve_threads", "stacked_with_reference", "usable_cores",
]  # fmt: skip


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


@dataclass(frozen=True)
class Prediction:
    """What a detector says about one part: its detections, the reference image it was compared with (for
    models that compare), how long it took, and why it could not be inspected (``mismatch``: the part does
    not align with its reference; a reject with that reason, not a fault); an anomaly model adds the part's
    score and score map."""

    detections: list[Detection]
    reference: str | None = None
    elapsed_ms: float = 0.0
    mismatch: str | None = None
    score: float | None = None  # an anomaly model's part score (0.5: its threshold); None for the others
    score_map: npt.NDArray[np.float32] | None = None  # and its map of patch scores (network resolution)


class Detector(ABC):
    """Load once (constructor: everything it needs), warm up, then predict one part at a time.

    ``min_confidence`` is given with each call: the station's rules may change between two parts."""

    info: ModelInfo

    def predict(self, image: Image, min_confidence: float) -> Prediction:
        """A camera image (stacked with its nearest reference first where the model needs one)."""
        started = time.perf_counter()
        try:
            detections, reference = self._detect(image, min_confidence)
        except PartMismatchError as exc:
            return Prediction([], None, (time.perf_counter() - started) * 1000, str(exc))
        return Prediction(detections, reference, (time.perf_counter() - started) * 1000)

    @abstractmethod
    def predict_prepared(self, image: Image, min_confidence: float) -> list[Detection]:
        """The detections on an image already in the network's input form (e.g. of a stacked dataset)."""

    @abstractmethod
    def _detect(self, image: Image, min_confidence: float) -> tuple[list[Detection], str | None]:
        """The detections on a camera image, and the name of the reference it was compared with."""

    @property
    def concurrent(self) -> bool:
        """Whether ``predict`` may run on several threads at once (the station's detect workers inspect
        parts side by side); one that may not is called by one worker at a time."""
        return False

    def warm_up(self) -> None:  # noqa: B027  (a detector without a network has nothing to warm)
        """Run blank inputs so the first real part is not slow (allocations, kernel selection)."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release the model (optional)."""


def stacked_with_reference(references: References | None, image: Image, path: Path) -> tuple[int, str, Image]:
    """The nearest reference's index and name, and ``image`` stacked with it (board, reference, difference)."""
    if references is None:
        raise ModelError(f"{path}: this model needs a reference image of the good part")
    index, stacked = references.stack(image)
    return index, references.names[index], stacked
