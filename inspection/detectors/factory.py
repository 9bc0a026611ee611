"""Choose the backend from the model file."""

from __future__ import annotations

from pathlib import Path

from inspection.detectors.base import Detector, resolve_threads
from inspection.errors import ModelError


def load_detector(
    path: Path,
    imgsz: int,
    device: str = "auto",
    iou: float = 0.5,
    expected_classes: list[str] | None = None,
    warm_up: bool = True,
    threads: int | str = "auto",
) -> Detector:
    """Load ``.pt`` (ultralytics) or ``.onnx`` (ONNX Runtime) weights; check the classes; warm up."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found; set 'model' in the recipe to an existing .pt or .onnx file")
    suffix = path.suffix.lower()
    detector: Detector
    if suffix == ".pt":
        from inspection.detectors.ultralytics_backend import UltralyticsDetector  # noqa: PLC0415

        detector = UltralyticsDetector(path, imgsz, device, iou, resolve_threads(threads))
    elif suffix == ".onnx":
        from inspection.detectors.onnx_backend import OnnxDetector  # noqa: PLC0415

        detector = OnnxDetector(path, imgsz, device, iou, resolve_threads(threads))
    else:
        raise ModelError(f"{path}: unknown model format '{suffix}'; use .pt (ultralytics) or .onnx")
    if expected_classes is not None and detector.info.classes != expected_classes:
        raise ModelError(
            f"{path}: model classes {detector.info.classes} do not match the recipe's classes "
            f"{expected_classes}; fix 'classes' in the recipe or choose the right model"
        )
    if warm_up:
        detector.warm_up()
    return detector
