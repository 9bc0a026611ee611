"""``inspection evaluate`` of an anomaly model: image AUROC of its score, escapes and false rejects at its
threshold (the recipe's, else the card's 0.5), region recall (a labelled defect is found when a reported
region overlaps it), and the score histograms of good and defective parts.

The data: a dataset from ``inspection dataset import`` (boxes: a part without any is good; or image-level
class folders, ``good`` being good), or a folder holding ``good/`` and one folder per defect kind."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspection.config import ClassRule, Recipe, load_recipe
from inspection.core.boxes import Box
from inspection.core.errors import StationError
from inspection.core.images import check_image_file, list_images, load_image
from inspection.core.types import Verdict
from inspection.detectors import load_detector
from inspection.detectors.anomaly_backend import LABEL
from inspection.detectors.base import Detector, usable_cores
from inspection.ml.anomaly.good_images import GOOD_CLASS
from inspection.ml.dataset.splits import read_split
from inspection.ml.evaluation.anomaly_metrics import auroc, quantiles, score_histogram
from inspection.quality.rules import decide


@dataclass(frozen=True)
class Part:
    path: Path
    kind: str  # "good", or the defect class
    boxes: tuple[Box, ...] | None  # the labelled defects (None: image-level label only)

    @property
    def defective(self) -> bool:
        return self.kind != GOOD_CLASS


def _class_folders(root: Path) -> list[Part]:
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    return [Part(image, folder.name, None) for folder in folders for image in list_images(folder)]


def labelled_parts(data: Path, split: str) -> list[Part]:
    """The parts of ``data`` (see the module) with their labels."""
    if (data / "data.yaml").is_file() and (data / "images").is_dir():
        evalset = read_split(data, split)
        parts = []
        for image in evalset.images:
            width, height = check_image_file(image.path)
            boxes = tuple(box for _, box in image.boxes(width, height))
            kind = evalset.classes[image.labels[0][0]] if image.labels else GOOD_CLASS
            parts.append(Part(image.path, kind, boxes))
        return parts
    root = data / split if (data / split / GOOD_CLASS).is_dir() else data
    if not (root / GOOD_CLASS).is_dir():
        raise StationError(
            f"{data}: expected a dataset from 'inspection dataset import', or a folder with '{GOOD_CLASS}/' and one "
            "folder per defect kind"
        )
    parts = _class_folders(root)
    if not parts:
        raise StationError(f"{root}: no images in its class folders")
    return parts


def _overlaps(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def anomaly_recipe(model: Path, recipe_path: Path | None, conf: float | None) -> Recipe:
    """The recipe whose rules judge: the one given, or 'an anomaly scoring at least conf (the card's 0.5) fails'."""
    if recipe_path is not None:
        recipe = load_recipe(recipe_path)
        if recipe.classes != [LABEL]:
            raise StationError(f"{recipe_path}: recipe classes {recipe.classes}; an anomaly model's are ['{LABEL}']")
        return recipe.model_copy(update={"model": model})
    rule = ClassRule(min_confidence=0.5 if conf is None else conf)
    return Recipe(name="evaluation", model=model, classes=[LABEL], default_rule=rule)


def judge_parts(
    detector: Detector, parts: list[Part], recipe: Recipe, progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Each part's score, verdict, regions and time."""
    floor = min(rule.min_confidence for rule in [recipe.default_rule, *recipe.rules.values()])
    judged = []
    for number, part in enumerate(parts, start=1):
        prediction = detector.predict(load_image(part.path), floor)
        decision = decide(prediction.detections, recipe)
        judged.append({
            "part": part, "score": float(prediction.score or 0.0), "fail": decision.verdict == Verdict.FAIL,
            "regions": [d.box for d in decision.kept], "ms": prediction.elapsed_ms,
        })  # fmt: skip
        if number % 50 == 0 or number == len(parts):
            progress(f"scored {number}/{len(parts)} parts")
    return judged


def region_recall(judged: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Labelled defect boxes overlapped by a reported region (of failed parts), of all labelled boxes."""
    pairs = [(box, j["regions"]) for j in judged if j["part"].boxes for box in j["part"].boxes]
    if not pairs:
        return None
    found = sum(any(_overlaps(box, region) for region in regions) for box, regions in pairs)
    return {"boxes": len(pairs), "found": found, "recall": round(found / len(pairs), 4)}


def evaluate_anomaly(
    model: Path, data: Path, split: str = "val", recipe_path: Path | None = None, conf: float | None = None,
    device: str = "auto", progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:  # fmt: skip
    parts = labelled_parts(data, split)
    recipe = anomaly_recipe(model, recipe_path, conf)
    detector = load_detector(model, 0, device, threads=usable_cores(), expected_classes=[LABEL])
    try:
        judged = judge_parts(detector, parts, recipe, progress)
    finally:
        detector.close()
    good = [j for j in judged if not j["part"].defective]
    bad = [j for j in judged if j["part"].defective]
    latency = sorted(j["ms"] for j in judged)
    return {
        "model": str(model), "data": str(data), "split": split, "task": "anomaly",
        "images": len(judged), "good_images": len(good), "defective_images": len(bad),
        "threshold": recipe.rule_for(LABEL).min_confidence,
        "auroc": auroc([j["score"] for j in good], [j["score"] for j in bad]),
        "escape_rate": round(sum(not j["fail"] for j in bad) / len(bad), 4) if bad else None,
        "escapes": [str(j["part"].path) for j in bad if not j["fail"]],
        "false_reject_rate": round(sum(j["fail"] for j in good) / len(good), 4) if good else None,
        "false_rejects": [str(j["part"].path) for j in good if j["fail"]],
        "region_recall": region_recall(bad),
        "per_kind": _per_kind(judged),
        "score_histogram": {"good": score_histogram([j["score"] for j in good]),
                            "defective": score_histogram([j["score"] for j in bad])},
        "score_quantiles": {"good": quantiles([j["score"] for j in good]) if good else None,
                            "defective": quantiles([j["score"] for j in bad]) if bad else None},
        "latency_ms": {"mean": round(statistics.fmean(latency), 1), "p50": round(latency[len(latency) // 2], 1)},
        "backend": detector.info.backend,
    }  # fmt: skip


def _per_kind(judged: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Parts, failed parts and mean score per kind (good and each defect class)."""
    kinds: dict[str, list[dict[str, Any]]] = {}
    for j in judged:
        kinds.setdefault(j["part"].kind, []).append(j)
    return {
        kind: {"parts": len(rows), "failed": sum(r["fail"] for r in rows),
               "mean_score": round(statistics.fmean(r["score"] for r in rows), 4)}
        for kind, rows in sorted(kinds.items())
    }  # fmt: skip
