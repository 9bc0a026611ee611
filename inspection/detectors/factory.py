"""Choose the backend from the model file."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from inspection.core.channels import INPUT_MODES, InputMode
from inspection.core.errors import ModelError
from inspection.core.hashing import file_sha256
from inspection.detectors.base import Detector, resolve_threads
from inspection.detectors.card import ModelCard, find_card, verify_model_file
from inspection.detectors.onnx_backend import OnnxDetector
from inspection.detectors.openvino_backend import OpenVinoDetector
from inspection.detectors.reference import References
from inspection.detectors.region_backend import RegionDetector, network_classify, proposals_file
from inspection.detectors.template_backend import TemplateDetector
from inspection.detectors.ultralytics_backend import UltralyticsDetector

TEMPLATE_SUFFIXES = (".yaml", ".yml")

log = logging.getLogger(__name__)


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
) -> Detector:
    """Load ``.pt`` (ultralytics), ``.onnx`` (ONNX Runtime) or OpenVINO ``.xml`` weights, or a golden-template
    detector's settings ``.yaml``; check them
    against their model card; check the classes; attach the reference images; warm up.

    ``prepared_input``: the caller feeds network-ready images (``predict_prepared``, e.g. a stacked
    dataset), so no reference is needed.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"{path}: model file not found; set 'model' in the recipe to an existing .pt, .onnx or OpenVINO .xml file"
        )
    card = verify_model_file(path)
    suffix = path.suffix.lower()
    detector: Detector
    if card is not None and card.task == "classify":
        found = find_card(path)
        assert found is not None  # the card was read from there
        detector = load_region_detector(path, card, found[0], device, threads)
    elif suffix in TEMPLATE_SUFFIXES:
        detector = TemplateDetector(path)
    else:
        detector = _network(path, imgsz, device, iou, threads)
    mode = card.input.mode if card is not None else detector.info.input_mode
    detector.info = dataclasses.replace(detector.info, input_mode=_checked_mode(mode, path))
    if expected_classes is not None and detector.info.classes != expected_classes:
        raise ModelError(
            f"{path}: model classes {detector.info.classes} do not match the recipe's classes "
            f"{expected_classes}; fix 'classes' in the recipe or choose the right model"
        )
    if detector.info.input_mode == "image+reference" and not prepared_input:
        if reference is None:
            raise ModelError(
                f"{path}: this model compares each part with a reference image of the good part; set 'reference' "
                "in the recipe (or pass --reference)"
            )
        detector.references = References.load(reference)
    elif reference is not None:
        log.info("%s looks at the image alone; the reference %s is not used", path, reference)
    if warm_up:
        detector.warm_up()
    return detector


def _network(path: Path, imgsz: int, device: str, iou: float, threads: int | str, task: str = "detect") -> Detector:
    """The backend that runs a network file, chosen by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".pt":
        return UltralyticsDetector(path, imgsz, device, iou, resolve_threads(threads), task)
    if suffix == ".onnx":
        return OnnxDetector(path, imgsz, device, iou, resolve_threads(threads))
    if suffix == ".xml":
        return OpenVinoDetector(path, imgsz, device, iou, resolve_threads(threads))
    raise ModelError(
        f"{path}: unknown model format '{suffix}'; use .pt (ultralytics), .onnx, OpenVINO .xml, or a "
        "golden-template settings .yaml"
    )


def load_region_detector(path: Path, card: ModelCard, folder: Path, device: str, threads: int | str) -> Detector:
    """The region classifier in ``path`` (any backend) with the golden-template proposals of its
    registry ``folder`` (``path`` may lie elsewhere, e.g. an export under its parity check)."""

    network = _network(path, card.input.imgsz, device, 0.5, threads, task="classify")
    info = dataclasses.replace(
        network.info, classes=list(card.classes), sha256=file_sha256(path), input_mode="image+reference"
    )
    detector = RegionDetector(info, proposals_file(folder, card), network_classify(network), network.info.classes)
    detector.network = network
    return detector


def _checked_mode(mode: str, path: Path) -> InputMode:
    for known in INPUT_MODES:
        if mode == known:
            return known
    raise ModelError(f"{path}: unknown model input mode {mode!r}; this version knows {list(INPUT_MODES)}")
