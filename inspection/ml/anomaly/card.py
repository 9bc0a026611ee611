"""The model card of an anomaly run: what it is, how it was trained, its threshold and how that was set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from inspection.core.errors import ModelError
from inspection.detectors.anomaly_backend import LABEL, STATISTICS_FILE, TASK
from inspection.detectors.anomaly_features import AnomalyFeatures
from inspection.detectors.anomaly_patterns import BOX, PATTERNS_FILE, SIDE
from inspection.detectors.card import InputSpec, ModelCard
from inspection.ml.anomaly.training import MODEL_FILE, RESULT_FILE
from inspection.ml.training import TRAIN_CONFIG

PARITY_AGAINST = "the PyTorch scorer it was exported from, on the held-out good images"


def is_anomaly_run(run: Path) -> bool:
    config = run / TRAIN_CONFIG
    if not config.is_file():
        return False
    data = yaml.safe_load(config.read_text())
    return isinstance(data, dict) and (data.get("dataset") or {}).get("task") == TASK


def anomaly_card(
    run: Path, name: str, parent: str | None, notes: str, created: str
) -> tuple[ModelCard, dict[str, Path]]:
    """The card and the files (name in the model folder -> file in the run) of a finished anomaly run."""
    files = {MODEL_FILE: run / MODEL_FILE, STATISTICS_FILE: run / STATISTICS_FILE}
    if (run / PATTERNS_FILE).is_file():
        files[PATTERNS_FILE] = run / PATTERNS_FILE
    result_path = run / RESULT_FILE
    if not result_path.is_file() or not all(path.is_file() for path in files.values()):
        raise ModelError(
            f"{run}: the anomaly run is not finished (no {RESULT_FILE}); go on with 'inspection train --resume'"
        )
    config: dict[str, Any] = yaml.safe_load((run / TRAIN_CONFIG).read_text())
    result: dict[str, Any] = yaml.safe_load(result_path.read_text())
    parity = result.pop("onnx_parity", {})
    features = AnomalyFeatures(int(result.get("features", 1)))
    card = ModelCard(
        name=name,
        architecture=_architecture(config, result),
        task=TASK,
        classes=[LABEL],
        input=InputSpec(imgsz=int(config["imgsz"]), mode="image", preprocessing=features.preprocessing),
        training={
            "run": str(run.resolve()),
            "data": config["dataset"]["source"],
            "good_images": config["dataset"]["good_images"],
            "trained_on": config["dataset"]["trained_on"],
            "held_out": config["dataset"]["held_out"],
            "seconds": result.pop("training_seconds", None),
            "settings": {k: config[k] for k in ("imgsz", "memory", "seed")},
            "notes": notes,
        },
        exports={"onnx": {"file": MODEL_FILE, "precision": "f32", "parity": {**parity, "against": PARITY_AGAINST}}},
        parent=parent,
        created=created,
        anomaly=result,
    )
    return card, files


def _architecture(config: dict[str, Any], result: dict[str, Any]) -> str:
    if (result.get("patterns") or {}).get("used"):
        size = result["patterns"]["size"]
        return (
            f"rarity of {SIDE} x {SIDE} black-and-white patterns among the good parts' (two-level parts, at "
            f"{size} x {size} px, averaged over {BOX} x {BOX}); its patch network ({config['architecture']}) "
            "is kept but not scored"
        )
    patches = f"patch memory (greedy coreset, {config['memory']} patches) on {config['architecture']}"
    if "made_up_defects" not in result:
        return f"{patches}; plus the distance of image statistics to the nearest good parts"
    choice = result.get("made_up_defects_on_held_out") or {}
    whole = (
        "image statistics: their distance to the nearest good parts plus their position along the direction "
        "made-up defects move them (a logistic regression)"
    )
    whole += _patch_defects_text(result["made_up_defects"].get("patch_defects"), choice)
    if (result.get("alignment") or {}).get("aligned"):
        return (
            f"{whole}, plus the peak of each patch's distance to the nearest good patch at its own position (the parts "
            f"are aligned; {result['alignment']['per_position']} patches kept at each position, on "
            f"{config['architecture']}); the position-free "
            f"{patches} is not scored"
        )
    if choice.get("patches_scored", True):
        return f"{whole}; and {patches}"
    return f"{whole}; its {patches} is not scored (made-up defects were found no better with it)"


def _patch_defects_text(summary: dict[str, Any] | None, choice: dict[str, Any]) -> str:
    if not summary:
        return ""
    turns = int(summary.get("turns", 1))
    where = "a head of where made-up defects are (two 1 x 1 convolutions on the patch features"
    where += f"; its map the mean over {turns} turns of the part)" if turns > 1 else ")"
    if choice.get("patch_defects_scored"):
        return f", plus the peak of {where}"
    return f"; {where} is kept but not scored (made-up defects were found no better with it)"
