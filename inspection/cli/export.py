"""``inspection export``: a registered model to ONNX or OpenVINO, registered only when it passes parity."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspection.cli.options import REGISTRY_HELP, Commands
from inspection.detectors.anomaly_backend import TASK as ANOMALY_TASK
from inspection.detectors.card import read_card
from inspection.detectors.formats import EXPORT_FORMATS
from inspection.ml.anomaly_export import export_anomaly
from inspection.ml.model_export import export_model
from inspection.ml.registry.store import DEFAULT_REGISTRY, resolve_model


def add_commands(commands: Commands) -> None:
    export = commands.add_parser(
        "export",
        help="export a registered model (ONNX, OpenVINO) with a parity check",
        description=(
            "Export a registered model's weights to ONNX or OpenVINO, then check parity on a fixed set of "
            "validation images (same verdict on every image; boxes matched with IoU >= 0.9 and confidence "
            "within 0.02). Only an export that passes is registered beside the weights. --precision bf16 "
            "(OpenVINO, CPUs with bf16 units) computes in bfloat16, about twice as fast, and is checked the same way. "
            "An anomaly model (trained as ONNX) exports to OpenVINO: every score within 0.01 and the same verdicts "
            "on the first 32 of --data's images (default: its good training images)."
        ),
    )
    export.add_argument("--model", required=True, help="registry name or folder")
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    export.add_argument("--data", type=Path, help="dataset for the parity images (default: the training dataset)")
    export.add_argument(
        "--precision",
        choices=["f32", "bf16"],
        default="f32",
        help="what the export computes in (bf16: OpenVINO on a CPU with bf16 units; default f32)",
    )
    export.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help=REGISTRY_HELP)
    export.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:

    folder = resolve_model(args.registry, args.model)
    if read_card(folder).task == ANOMALY_TASK:
        path, report = export_anomaly(folder, args.format, args.data, print)
        print(f"parity: {report.images} images, same verdicts; largest score gap {report.worst_confidence_gap:.4f}")
        print(f"registered {path}")
        return 0
    path, report = export_model(folder, args.format, args.data, precision=args.precision)
    print(
        f"parity: {report.images} images, {report.boxes} boxes, same verdicts; worst IoU {report.worst_iou:.3f}, "
        f"worst confidence gap {report.worst_confidence_gap:.4f}"
    )
    print(f"registered {path}")
    return 0
