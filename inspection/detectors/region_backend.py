"""Two stages: the golden-template detector proposes regions, a small classifier names each one.

The classifier is a registered model with ``task: classify`` whose folder also holds the proposal
settings (``proposals.yaml``, hashed in its card). Any backend runs the classifier network (ultralytics
weights, ONNX Runtime, OpenVINO); the proposals are the same code for all of them.

Each region is reported once for every defect class the classifier gives at least ``min_confidence``,
with that probability as its confidence (a detector's per-class scores; at most one class of a region
can reach 0.5). The classifier's ``none`` class (not a defect) is never reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from calibration.golden import GoldenTemplate
from inspection.core.channels import grey, stack_with_reference
from inspection.core.errors import ModelError
from inspection.core.hashing import file_sha256
from inspection.core.types import Detection, Image
from inspection.detectors.base import Detector, ModelInfo
from inspection.detectors.card import ModelCard, listed_file
from inspection.detectors.formats import format_of
from inspection.detectors.loading import DetectorType, LoadRequest
from inspection.detectors.network import Network
from inspection.detectors.processing import FloatArray
from inspection.detectors.reference import References
from inspection.detectors.region_crop import CROP_PX, NONE, PROPOSALS_FILE, crop_region
from inspection.detectors.region_settings import RegionSettings, read_region_settings
from inspection.detectors.template_backend import TemplateDetector

Classify = Callable[[np.ndarray], np.ndarray]  # crops (N, px, px, 3) uint8 -> probabilities (N, classes)
WARM_BATCHES = 16  # region counts a part's batch is prepared for at load (most DeepPCB boards: up to 10)


def proposed_crops(proposer: TemplateDetector, board: Image, template: GoldenTemplate) -> tuple[list[Detection], Image]:
    """The template detector's regions on ``board`` (grey) and their crops (N, px, px, 3) of the board
    stacked with the template registered onto it: the classifier sees the part and its good state aligned,
    however the part lay in the fixture (the detector and the crop dataset both cut them here)."""
    regions, aligned = proposer.detect_aligned(board, template, 0.0)
    if not regions:
        return [], np.zeros((0, CROP_PX, CROP_PX, 3), np.uint8)
    stacked = stack_with_reference(board, aligned)
    return regions, np.stack([crop_region(stacked, region.box) for region in regions])


def crops_to_batch(crops: np.ndarray, size: int) -> FloatArray:
    """The network input of a batch of crops, as ultralytics trains it: crop files read in OpenCV's
    channel order and reversed, scaled (bilinear) to the network's input size, 0..1 (no mean or std)."""
    if crops.shape[1] != size:
        crops = np.stack([cv2.resize(crop, (size, size), interpolation=cv2.INTER_LINEAR) for crop in crops])
    return np.ascontiguousarray(crops[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def network_classify(network: Network) -> Classify:
    """Run a loaded classifier network (any backend) on crops."""
    size = network.info.imgsz

    def classify(crops: np.ndarray) -> np.ndarray:
        batch = crops_to_batch(crops, size)
        return np.asarray(network.forward(batch), dtype=np.float32).reshape(len(crops), -1)

    return classify


def proposals_file(folder: Path, card: ModelCard) -> Path:
    """The proposal settings of a classifier's registry folder, checked against its card."""
    return listed_file(folder, card, PROPOSALS_FILE, "a region classifier")


def blend_with_geometry(
    probabilities: np.ndarray, regions: list[Detection], classes: list[str], weight: float
) -> np.ndarray:
    """Each region's defect probabilities (their sum kept) moved by ``weight`` towards the class the
    template detector named it by geometry."""
    if weight == 0.0:
        return probabilities
    geometric = np.zeros_like(probabilities)
    for row, region in enumerate(regions):
        if region.label in classes:
            geometric[row, classes.index(region.label)] = 1.0
    mass = probabilities.sum(axis=1, keepdims=True)
    return np.asarray((1.0 - weight) * probabilities + weight * geometric * mass, dtype=np.float32)


class RegionDetector(Detector):
    """``classify`` names the crops; ``network``, when given, is the backend behind it (closed with the
    detector); ``references`` are the good parts camera images are compared with."""

    def __init__(
        self,
        info: ModelInfo,
        proposals: Path,
        classify: Classify,
        network_classes: list[str],
        references: References | None = None,
        network: Network | None = None,
        settings: RegionSettings | None = None,
    ) -> None:
        missing = [c for c in [*info.classes, NONE] if c not in network_classes]
        if missing:
            raise ModelError(f"{info.path}: the classifier has no class {missing}; it knows {network_classes}")
        self.info = info
        self.proposer = TemplateDetector(proposals)
        self.classify = classify
        self.references = references
        self.network = network
        self.settings = settings or RegionSettings()  # geometry weight, box corrections
        self._columns = [network_classes.index(c) for c in info.classes]
        self._templates: dict[tuple[int, tuple[int, ...]], GoldenTemplate] = {}

    @property
    def concurrent(self) -> bool:
        """With a network that runs calls side by side (a bare ``classify`` function is not known to): the
        proposals keep only caches of the references' templates, the same whichever thread fills them."""
        return self.network is not None and self.network.concurrent

    def warm_up(self) -> None:
        """Run the classifier on blank crops in every batch size up to ``WARM_BATCHES``: a part's regions
        go in one batch, and OpenVINO and PyTorch prepare their kernels per input shape (about 9 ms for
        each new size on this 2-core CPU), which would otherwise stall the first part of each region count.
        Larger counts are prepared when they first come (32 sizes at load cost 110 MB more and a second)."""
        blank = np.zeros((WARM_BATCHES, CROP_PX, CROP_PX, 3), np.uint8)
        for size in range(1, WARM_BATCHES + 1):
            self.classify(blank[:size])

    def _detect(self, image: Image, min_confidence: float) -> tuple[list[Detection], str | None]:
        """Compared with its nearest reference, whose template (tolerance band, registration pyramid) is
        made once and kept."""
        if self.references is None:
            raise ModelError(f"{self.info.path}: this model needs a reference image of the good part")
        board = grey(image)
        index = self.references.nearest(board)
        key = (index, board.shape)
        if key not in self._templates:
            reference = self.references.images[index]
            if reference.shape != board.shape:
                reference = cv2.resize(reference, (board.shape[1], board.shape[0]), interpolation=cv2.INTER_AREA)
            self._templates[key] = GoldenTemplate.from_image(reference, self.proposer.settings.edge_px)
        return self._regions(board, self._templates[key], min_confidence), self.references.names[index]

    def predict_prepared(self, image: Image, min_confidence: float) -> list[Detection]:
        """A stacked (board, reference, difference) image."""
        template = GoldenTemplate.from_image(image[:, :, 1], self.proposer.settings.edge_px)
        return self._regions(image[:, :, 0], template, min_confidence)

    def _regions(self, board: Image, template: GoldenTemplate, min_confidence: float) -> list[Detection]:
        regions, crops = proposed_crops(self.proposer, board, template)
        if not regions:
            return []
        height, width = board.shape[:2]
        return self.detections(regions, self.name(regions, crops), width, height, min_confidence)

    def name(self, regions: list[Detection], crops: np.ndarray) -> np.ndarray:
        """Each region's probability of each class (a row; 1 - its sum is 'none'): the classifier's, moved
        towards the class the template detector names it by geometry."""
        probabilities = self.classify(crops)[:, self._columns]
        return blend_with_geometry(probabilities, regions, self.info.classes, self.settings.geometry_weight)

    def detections(
        self, regions: list[Detection], probabilities: np.ndarray, width: int, height: int, min_confidence: float
    ) -> list[Detection]:
        """A detection per region and class at ``min_confidence`` or more, its box corrected for the class,
        the most confident first."""
        found = [
            Detection(name, index, float(probabilities[row, index]), self.settings.box(name, region.box, width, height))
            for row, region in enumerate(regions)
            for index, name in enumerate(self.info.classes)
            if probabilities[row, index] >= min_confidence
        ]
        return sorted(found, key=lambda d: d.confidence, reverse=True)

    def close(self) -> None:
        if self.network is not None:
            self.network.close()


def load_region_detector(request: LoadRequest) -> RegionDetector:
    """The region classifier in ``request.path`` (any backend) with the golden-template proposals of its
    registry folder (the file may lie elsewhere, e.g. an export under its parity check)."""
    card, folder, fmt = request.card, request.card_folder, format_of(request.path)
    assert card is not None and folder is not None  # claimed by its card
    if fmt is None:
        raise ModelError(f"{request.path}: a region classifier runs from a network file, not {request.path.suffix}")
    network = fmt.load(request.path, card.input.imgsz, request.device, request.threads, "classify", request.parallel)
    info = dataclasses.replace(
        network.info, classes=list(card.classes), sha256=file_sha256(request.path), input_mode="image+reference"
    )
    references = request.references("image+reference")
    classify = network_classify(network)
    return RegionDetector(
        info, proposals_file(folder, card), classify, network.info.classes, references, network,
        read_region_settings(folder, card),
    )  # fmt: skip


REGION = DetectorType(
    "region",
    claims=lambda request: request.card is not None and request.card.task == "classify",
    load=load_region_detector,
    describe="a registered region classifier (card task: classify)",
)
