"""A network's forward pass, whatever runs it (ultralytics/PyTorch, ONNX Runtime, OpenVINO): a letterboxed
batch in, the raw head output out. Detectors put a network to use (``NetworkDetector`` decodes a YOLO
head; the region detector runs a classifier on crops)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from inspection.detectors.base import ModelInfo
from inspection.detectors.processing import FloatArray


class Network(ABC):
    info: ModelInfo  # what the file says: classes, input size, backend, device, threads, precision
    # Whether ``forward`` may be called from several threads at once, each call running beside the others
    # (the station's detect workers inspect parts side by side); a backend that is not is called by one at a time.
    concurrent: bool = False

    @abstractmethod
    def forward(self, batch: FloatArray) -> FloatArray:
        """``(batch, 3, imgsz, imgsz)`` in 0..1 -> the head's output (detect: ``(batch, 4 + classes, anchors)``)."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release the runtime's resources (optional)."""
