"""``inspection export``: ONNX / OpenVINO exports of registered weights, checked for parity before they
are registered beside the weights. A mismatch leaves the registry untouched."""

from __future__ import annotations

import importlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from inspection.core.errors import ModelError, brief
from inspection.core.images import read_image
from inspection.core.offline import block_openvino_telemetry, make_ultralytics_offline
from inspection.detectors import load_detector
from inspection.detectors.base import Detector, resolve_threads
from inspection.detectors.card import find_card, read_card
from inspection.detectors.formats import format_named
from inspection.detectors.loading import LoadRequest
from inspection.detectors.openvino_backend import PRECISIONS, cpu_has_bf16
from inspection.detectors.region_backend import load_region_detector
from inspection.ml.dataset.splits import read_split
from inspection.ml.evaluation.parity import ParityReport, compare_image
from inspection.ml.registry.store import add_export

FORMATS = {"onnx": "onnx", "openvino": "openvino"}  # format -> the Python package it needs
PARITY_IMAGES = 32
PARITY_FLOOR = 0.25  # the station records detections from here up
PARITY_THRESHOLD = 0.5  # verdict: any box at or above it fails


def check_format_available(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ModelError(f"unknown export format {fmt!r}; choose one of {sorted(FORMATS)}")
    block_openvino_telemetry()
    try:
        importlib.import_module(FORMATS[fmt])
    except ImportError:
        raise ModelError(
            f"cannot export to {fmt}: the '{FORMATS[fmt]}' package is not installed on this machine; "
            "install the project's dependencies (scripts/setup.sh) or choose another --format"
        ) from None


def check_precision_available(fmt: str, precision: str) -> None:
    """bf16 runs only in OpenVINO on a CPU with bf16 units; elsewhere its parity could not be measured."""
    if precision == "f32":
        return
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}")
    if fmt != "openvino":
        raise ModelError(f"--precision {precision} is for --format openvino; ONNX Runtime runs the export in f32")
    if not cpu_has_bf16():
        raise ModelError(
            f"this CPU has no bf16 units (OpenVINO lists no BF16 capability), so a {precision} export cannot be "
            "parity-checked here: export on a CPU with AVX512_BF16 or AMX, or keep --precision f32"
        )


def produce(
    weights: Path,
    fmt: str,
    imgsz: int,
    work: Path,
    input_mode: str,
    dynamic_batch: bool = False,
    precision: str = "f32",
) -> Path:
    """Export with ultralytics into ``work`` (on a copy: nothing is written beside the source).

    ``dynamic_batch``: the region classifier takes every region of a part in one batch of any size.
    ``precision``: what the OpenVINO export computes in (its metadata.yaml tells the backend)."""
    check_format_available(fmt)
    make_ultralytics_offline()
    from ultralytics import YOLO  # noqa: PLC0415  (heavy SDK, loaded only when used)

    source = work / "model.pt"
    shutil.copy2(weights, source)
    try:
        produced = YOLO(str(source)).export(
            format=fmt, imgsz=imgsz, dynamic=dynamic_batch, simplify=True, nms=False, verbose=False
        )
    except Exception as exc:
        raise ModelError(f"{weights}: {fmt} export failed ({brief(exc)})") from None
    path = Path(produced)
    if fmt == "onnx":
        _tag_onnx(path, input_mode)
        return path
    target = work / format_named("openvino").registry_entry
    path.rename(target)
    if not (target / "model.xml").is_file() or not (target / "model.bin").is_file():
        raise ModelError(f"{weights}: the OpenVINO export did not produce model.xml and model.bin")
    meta = yaml.safe_load((target / "metadata.yaml").read_text()) or {}
    meta["input_mode"] = input_mode
    meta["precision"] = precision
    (target / "metadata.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return target


def _tag_onnx(path: Path, input_mode: str) -> None:
    """Record the input mode in the ONNX metadata, so the file describes itself outside the registry."""
    import onnx  # noqa: PLC0415  (heavy SDK, loaded only when used)

    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = "input_mode", input_mode
    onnx.save(model, str(path))


def parity_images(data: Path, count: int = PARITY_IMAGES) -> list[Path]:
    """A fixed set: the first ``count`` validation images of the dataset, by name."""
    return [item.path for item in read_split(data).images[:count]]


def check_parity(weights: Path, exported: Path, imgsz: int, images: list[Path]) -> ParityReport:
    """Run both on the same network-ready images and compare verdicts and boxes."""
    source = load_detector(weights, imgsz, "cpu", warm_up=False, threads="auto", prepared_input=True)
    found = find_card(weights)
    if found is not None and found[1].task == "classify":  # the export is not in the registry yet
        request = LoadRequest(
            exported, found[1], found[0], 0, "cpu", threads=resolve_threads("auto"), prepared_input=True
        )
        target: Detector = load_region_detector(request)
    else:
        target = load_detector(exported, imgsz, "cpu", warm_up=False, threads="auto", prepared_input=True)
    floor = PARITY_FLOOR - 0.05
    report = ParityReport()
    for path in images:
        image = read_image(path)
        if image is None:
            raise ModelError(f"{path}: not a readable image")
        compare_image(
            path.name,
            source.predict_prepared(image, floor),
            target.predict_prepared(image, floor),
            PARITY_FLOOR,
            PARITY_THRESHOLD,
            report,
        )
    return report


def export_model(
    folder: Path,
    fmt: str,
    data: Path | None = None,
    progress: Callable[[str], None] = print,
    precision: str = "f32",
) -> tuple[Path, ParityReport]:
    """Export ``folder/model.pt``, check parity, and register the export; raise on a mismatch."""
    check_format_available(fmt)
    check_precision_available(fmt, precision)
    card = read_card(folder)
    weights = folder / "model.pt"
    data = data or (Path(card.training["data_yaml"]) if card.training.get("data_yaml") else None)
    if data is None:
        raise ModelError(f"{folder.name}: the card names no dataset; give --data for the parity images")
    images = parity_images(data)
    with tempfile.TemporaryDirectory(prefix="inspection-export-") as work:
        progress(f"exporting {folder.name} to {fmt}" + (f" ({precision})" if precision != "f32" else ""))
        produced = produce(
            weights,
            fmt,
            card.input.imgsz,
            Path(work),
            card.input.mode,
            dynamic_batch=card.task == "classify",
            precision=precision,
        )
        main = produced if fmt == "onnx" else produced / "model.xml"
        progress(f"parity check on {len(images)} validation images")
        report = check_parity(weights, main, card.input.imgsz, images)
        if not report.ok:
            shown = "; ".join(report.mismatches[:3])
            more = f" (and {len(report.mismatches) - 3} more)" if len(report.mismatches) > 3 else ""
            raise ModelError(f"{fmt} export of {folder.name} differs from its weights, not registered: {shown}{more}")
        registered = add_export(folder, produced, fmt, report.as_dict(), precision)
    return registered, report
