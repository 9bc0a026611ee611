"""Load a model file as a detector: the first detector type that claims it loads it, after the file is
checked against its model card; then the classes are checked and the detector warmed up."""

from __future__ import annotations

from pathlib import Path

from inspection.core.channels import Alignment
from inspection.core.errors import ModelError
from inspection.detectors.anomaly_backend import ANOMALY
from inspection.detectors.base import Detector, resolve_threads
from inspection.detectors.card import find_card, verify_model_file
from inspection.detectors.loading import DetectorType, LoadRequest
from inspection.detectors.network_detector import NETWORK
from inspection.detectors.region_backend import REGION
from inspection.detectors.template_backend import TEMPLATE

# Asked in this order (a registered region classifier or anomaly model is also a network file).
DETECTOR_TYPES: list[DetectorType] = [ANOMALY, REGION, TEMPLATE, NETWORK]


def register_detector(kind: DetectorType) -> None:
    """Add a detector type (a plug-in, or a test); it is asked before the built-in ones."""
    if any(known.name == kind.name for known in DETECTOR_TYPES):
        raise ValueError(f"a detector type {kind.name!r} is registered already")
    DETECTOR_TYPES.insert(0, kind)


def load_detector(
    path: Path,
    imgsz: int,
    device: str = "auto",
    iou: float = 0.5,
    expected_classes: list[str] | None = None,
    warm_up: bool = True,
    threads: int | str = "auto",
    reference: Path | None = None,
    prepared_input: bool = False,
    alignment: Alignment = "euclidean",
    parallel: int = 1,
) -> Detector:
    """Load a model file (``.pt``, ``.onnx``, OpenVINO ``.xml``, a golden-template ``.yaml``, or what a
    registered type claims), check it against its model card and its classes against the recipe's,
    attach the reference images (each registered to the part with ``alignment`` before they are compared),
    warm up. ``parallel``: how many threads will predict at once (the station's detect workers)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"{path}: model file not found; set 'model' in the recipe to an existing .pt, .onnx or OpenVINO .xml file"
        )
    card = verify_model_file(path)
    found = find_card(path) if card is not None else None
    request = LoadRequest(
        path, card, found[0] if found else None, imgsz, device, iou, resolve_threads(threads), reference,
        prepared_input, alignment, max(1, parallel),
    )  # fmt: skip
    kind = next((kind for kind in DETECTOR_TYPES if kind.claims(request)), None)
    if kind is None:
        known = "; ".join(kind.describe for kind in DETECTOR_TYPES)
        raise ModelError(f"{path}: unknown model format '{path.suffix.lower()}'; use {known}")
    detector = kind.load(request)
    if expected_classes is not None and detector.info.classes != expected_classes:
        detector.close()
        raise ModelError(
            f"{path}: model classes {detector.info.classes} do not match the recipe's classes "
            f"{expected_classes}; fix 'classes' in the recipe or choose the right model"
        )
    if warm_up:
        detector.warm_up()
    return detector
