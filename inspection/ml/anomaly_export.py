"""``inspection export --format openvino`` of an anomaly model: its ONNX file converted, then both run on the
same images; every score must agree within ``SCORE_TOLERANCE`` and every verdict be the same, else nothing
is registered. (An anomaly model is trained as ONNX: that file is its first format.)"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from inspection.core.errors import ModelError, brief
from inspection.core.images import list_images, load_image
from inspection.core.offline import block_openvino_telemetry
from inspection.detectors.anomaly_backend import AnomalyDetector, load_anomaly_detector
from inspection.detectors.base import resolve_threads
from inspection.detectors.card import ModelCard, read_card
from inspection.detectors.formats import format_named
from inspection.detectors.loading import LoadRequest
from inspection.ml.anomaly.good_images import find_good_images
from inspection.ml.anomaly.training import MODEL_FILE
from inspection.ml.anomaly_scoring import labelled_parts
from inspection.ml.evaluation.parity import ParityReport, verdicts_differ
from inspection.ml.registry.store import add_export

PARITY_IMAGES = 32
SCORE_TOLERANCE = 0.01  # score units: the threshold is 0.5


def _parity_images(folder: Path, card: ModelCard, data: Path | None) -> list[Path]:
    """The first ``PARITY_IMAGES`` (by name) of ``--data`` (images, a folder, or a labelled set), else of
    the good images the model was trained from."""
    if data is not None:
        found = list_images(data) or [part.path for part in labelled_parts(data, "val")]
    else:
        source = Path(str(card.training.get("data", "")))
        if not source.exists():
            raise ModelError(f"{folder.name}: its training images ({source}) are gone; give --data for parity images")
        found = find_good_images(source)
    return sorted(found)[:PARITY_IMAGES]


def _convert(onnx_file: Path, work: Path) -> Path:
    block_openvino_telemetry()
    import openvino as ov  # noqa: PLC0415  (heavy SDK, loaded only when used)

    target = work / format_named("openvino").registry_entry
    target.mkdir()
    try:
        ov.save_model(ov.convert_model(str(onnx_file)), str(target / "model.xml"), compress_to_fp16=False)
    except Exception as exc:
        raise ModelError(f"{onnx_file}: OpenVINO conversion failed ({brief(exc)})") from None
    meta = {"names": {0: "anomaly"}, "input_mode": "image", "precision": "f32"}
    (target / "metadata.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return target


def _detector(path: Path, folder: Path, card: ModelCard) -> AnomalyDetector:
    request = LoadRequest(path, card, folder, card.input.imgsz, "cpu", threads=resolve_threads("auto"))
    return load_anomaly_detector(request)


def score_parity(source: AnomalyDetector, target: AnomalyDetector, images: list[Path]) -> ParityReport:
    """Scores within ``SCORE_TOLERANCE`` and the same verdict (score >= 0.5) on every image."""
    report = ParityReport()
    for path in images:
        image = load_image(path)
        first, second = source.assess(image, 0.5)[0], target.assess(image, 0.5)[0]
        report.images += 1
        gap = abs(first - second)
        report.worst_confidence_gap = max(report.worst_confidence_gap, gap)
        if gap > SCORE_TOLERANCE or verdicts_differ(first, second):
            report.mismatches.append(f"{path.name}: score {first:.4f} against {second:.4f}")
    return report


def export_anomaly(
    folder: Path, fmt: str, data: Path | None, progress: Callable[[str], None]
) -> tuple[Path, ParityReport]:
    if fmt != "openvino":
        raise ModelError(f"{folder.name}: an anomaly model is trained as ONNX ({MODEL_FILE}); export --format openvino")
    card = read_card(folder)
    images = _parity_images(folder, card, data)
    with tempfile.TemporaryDirectory(prefix="inspection-export-") as work:
        progress(f"converting {folder.name} to OpenVINO")
        produced = _convert(folder / MODEL_FILE, Path(work))
        progress(f"parity check on {len(images)} images")
        source = _detector(folder / MODEL_FILE, folder, card)
        target = _detector(produced / "model.xml", folder, card)
        try:
            report = score_parity(source, target, images)
        finally:
            source.close()
            target.close()
        if not report.ok:
            raise ModelError(f"openvino export of {folder.name} differs from its ONNX file, not registered: "
                             + "; ".join(report.mismatches[:3]))  # fmt: skip
        parity = {
            "images": report.images, "same_verdicts": True, "max_score_gap": round(report.worst_confidence_gap, 5),
            "against": "the model's ONNX file", "criteria": f"same verdict; score within {SCORE_TOLERANCE}",
        }  # fmt: skip
        registered = add_export(folder, produced, fmt, parity)
    return registered, report
