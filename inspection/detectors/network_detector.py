"""A YOLO detection network as a detector: the shared pre- and post-processing around any backend's
forward pass, so an export gives the same detections as its weights."""

from __future__ import annotations

import dataclasses

import numpy as np

from inspection.core.types import Detection, Image
from inspection.detectors.base import Detector, ModelInfo, stacked_with_reference
from inspection.detectors.formats import FORMATS, format_of
from inspection.detectors.loading import DetectorType, LoadRequest
from inspection.detectors.network import Network
from inspection.detectors.processing import decode, make_batch
from inspection.detectors.reference import References


class NetworkDetector(Detector):
    def __init__(self, network: Network, info: ModelInfo, iou: float, references: References | None = None) -> None:
        self.network = network
        self.info = info  # the network's, with the input mode its card gives
        self.iou = iou
        self.references = references

    @property
    def concurrent(self) -> bool:
        return self.network.concurrent  # the pre- and post-processing keep no state between parts

    def _detect(self, image: Image, min_confidence: float) -> tuple[list[Detection], str | None]:
        if self.info.input_mode == "image":
            return self.predict_prepared(image, min_confidence), None
        _, name, stacked = stacked_with_reference(self.references, image, self.info.path)
        return self.predict_prepared(stacked, min_confidence), name

    def predict_prepared(self, image: Image, min_confidence: float) -> list[Detection]:
        batch, geometry = make_batch([image], self.info.imgsz)
        raw = self.network.forward(batch)
        return decode(raw[0], geometry[0], self.info.classes, self.iou, min_confidence)

    def warm_up(self, runs: int = 2) -> None:
        blank = np.zeros((self.info.imgsz, self.info.imgsz, 3), dtype=np.uint8)
        for _ in range(runs):
            self.predict_prepared(blank, 1.0)

    def close(self) -> None:
        self.network.close()


def _load(request: LoadRequest) -> Detector:
    fmt = format_of(request.path)
    assert fmt is not None  # claimed by suffix
    network = fmt.load(request.path, request.imgsz, request.device, request.threads, "detect", request.parallel)
    mode = request.input_mode(network.info.input_mode)
    info = dataclasses.replace(network.info, input_mode=mode)
    return NetworkDetector(network, info, request.iou, request.references(mode))


NETWORK = DetectorType(
    "network",
    claims=lambda request: format_of(request.path) is not None,
    load=_load,
    describe=", ".join(f"{fmt.suffix} ({fmt.backend})" for fmt in FORMATS),
)
