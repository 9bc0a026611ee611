"""Publish trained weights into ``models/<name>/`` with a model card (what it is, how it was made)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import yaml

from inspection.detectors.base import file_sha256
from inspection.export import export_onnx
from inspection.offline import make_ultralytics_offline


def last_metrics(results_csv: Path) -> dict[str, float]:
    """Validation metrics of the final epoch, from ultralytics' ``results.csv``."""
    with results_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    last = {key.strip(): value for key, value in rows[-1].items()}
    names = {
        "precision": "metrics/precision(B)",
        "recall": "metrics/recall(B)",
        "map50": "metrics/mAP50(B)",
        "map50_95": "metrics/mAP50-95(B)",
    }
    metrics = {name: round(float(last[column]), 4) for name, column in names.items()}
    metrics["epochs"] = int(float(last["epoch"]))
    return metrics


def publish(weights: Path, results_csv: Path, out_dir: Path, card: dict[str, object], imgsz: int) -> Path:
    """Write ``out_dir/model.pt`` (optimizer state stripped), its ONNX export and ``card.yaml``."""
    make_ultralytics_offline()
    from ultralytics.utils.torch_utils import strip_optimizer  # noqa: PLC0415

    out_dir.mkdir(parents=True, exist_ok=True)
    model = out_dir / "model.pt"
    strip_optimizer(str(weights), str(model))
    onnx = export_onnx(model, out_dir / "model.onnx", imgsz)
    full_card = {
        **card,
        "files": {path.name: file_sha256(path) for path in (model, onnx)},
        "validation": last_metrics(results_csv),
        "published": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out_dir / "card.yaml").write_text(yaml.safe_dump(full_card, sort_keys=False))
    return model
