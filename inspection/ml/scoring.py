"""Score a model on a dataset split: accuracy, escapes, false rejects (on the split and on re-captures of
its good boards) and latency. ``inspection evaluate`` and the leave-one-group-out protocol run it."""

from __future__ import annotations

import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from inspection.config import ClassRule, Recipe, load_recipe
from inspection.core.channels import Alignment, grey, stack_with_reference
from inspection.core.errors import PartMismatchError, StationError
from inspection.core.images import read_image
from inspection.core.recapture import DEFAULT_RECAPTURE, Recapture
from inspection.core.types import Image, Verdict
from inspection.detectors import load_detector
from inspection.detectors.base import Detector, usable_cores
from inspection.detectors.card import find_card
from inspection.detectors.reference import aligned_reference
from inspection.ml.dataset.splits import EvalSet, read_split
from inspection.ml.evaluation.metrics import Evaluation, ImageResult
from inspection.ml.registry.store import now, resolve_model, weights_file
from inspection.quality.rules import decide

RECAPTURES = 3  # re-captures of each good board of the split, for the false-reject test

MAP_CONFIDENCE = 0.001  # mAP needs the whole precision-recall curve


def model_path(model: str, registry: Path, fmt: str = "pt") -> Path:
    """A model file, or a registry name/folder -> its file of format ``fmt``."""
    candidate = Path(model)
    if candidate.is_file():
        return candidate
    return weights_file(resolve_model(registry, model), fmt)


def model_imgsz(model: Path, default: int = 640) -> int:
    """The input size on the model's card (exports fix their own; bare .pt files get ``default``)."""
    found = find_card(model)
    return found[1].input.imgsz if found else default


def operating_recipe(model: Path, classes: list[str], recipe_path: Path | None, conf: float | None) -> Recipe:
    """The recipe whose rules give the verdicts: the one given, or 'any defect >= conf (0.5) fails'."""
    if recipe_path is not None:
        recipe = load_recipe(recipe_path)
        if recipe.classes != classes:
            raise StationError(f"{recipe_path}: recipe classes {recipe.classes} differ from the model's {classes}")
        return recipe.model_copy(update={"model": model})
    return Recipe(name="evaluation", model=model, classes=classes, default_rule=ClassRule(min_confidence=conf or 0.5))


def evaluate(
    model: Path,
    data: Path,
    recipe_path: Path | None = None,
    conf: float | None = None,
    split: str = "val",
    device: str = "cpu",
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    recaptures: int = RECAPTURES,
    alignment: Alignment = "euclidean",
) -> dict[str, Any]:
    """``recaptures``: how often each good board of the split is captured again (simulated) and inspected
    against the original, its reference registered with ``alignment`` as the station does (0: skip)."""
    detector = load_detector(model, model_imgsz(model), device, threads=usable_cores(), prepared_input=True)
    try:
        return evaluate_detector(detector, data, recipe_path, conf, split, progress, recaptures, alignment)
    finally:
        detector.close()


def evaluate_detector(
    detector: Detector,
    data: Path,
    recipe_path: Path | None = None,
    conf: float | None = None,
    split: str = "val",
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    recaptures: int = RECAPTURES,
    alignment: Alignment = "euclidean",
) -> dict[str, Any]:
    """``evaluate`` with a detector loaded already (for network-ready input: ``prepared_input``)."""
    model = detector.info.path
    evalset = read_split(data, split)
    if detector.info.classes != evalset.classes:
        raise StationError(
            f"{model}: model classes {detector.info.classes} differ from the dataset's {evalset.classes}"
        )
    if detector.info.input_mode != evalset.input_mode:
        raise StationError(
            f"{model}: the model takes '{detector.info.input_mode}' input but {data} holds '{evalset.input_mode}' "
            "images; import the dataset with the matching --input"
        )
    recipe = operating_recipe(model, evalset.classes, recipe_path, conf)
    evaluation, mismatched = score_images(detector, evalset, recipe, progress)
    summary = evaluation.summary()
    summary["not_registered"] = mismatched  # judged FAIL: they did not align with their reference
    summary["recapture"] = recapture_false_rejects(detector, evalset, recipe, recaptures, alignment, progress)
    rule = recipe.default_rule
    return {
        "model": detector.info.name,  # <model folder>/<file>: the same on every machine
        "model_sha256": detector.info.sha256,
        "backend": f"{detector.info.backend} ({detector.info.device}, {detector.info.threads} threads, "
        f"{detector.info.precision})",
        "data": str(data),
        "split": split,
        "operating_point": {
            "recipe": str(recipe_path) if recipe_path else None,
            "min_confidence": rule.min_confidence,
            "min_area_px": rule.min_area_px,
        },
        "evaluated": now(),
        **summary,
    }


def score_images(
    detector: Detector, evalset: EvalSet, recipe: Recipe, progress: Callable[[str], None]
) -> tuple[Evaluation, list[str]]:
    """Every image of the split through the detector and the rules; and the names of those that did not
    register to their reference (judged FAIL with no detections, as the station rejects them)."""
    evaluation = Evaluation(evalset.classes)
    mismatched: list[str] = []
    for number, item in enumerate(evalset.images, start=1):
        image = read_image(item.path)
        if image is None:
            raise StationError(f"{item.path}: not a readable image")
        start = time.perf_counter()
        try:
            detections = detector.predict_prepared(image, MAP_CONFIDENCE)
            decision = decide(detections, recipe)
            kept, verdict = list(decision.kept), decision.verdict
        except PartMismatchError:
            detections, kept, verdict = [], [], Verdict.FAIL
            mismatched.append(item.path.name)
        latency = time.perf_counter() - start
        truth = item.boxes(image.shape[1], image.shape[0])
        evaluation.results.append(ImageResult(item.path.name, truth, detections, kept, verdict, latency))
        if number % 50 == 0 or number == len(evalset.images):
            progress(f"evaluated {number}/{len(evalset.images)} images")
    return evaluation, mismatched


def good_boards(evalset: EvalSet) -> list[tuple[str, Image]]:
    """The defect-free boards of a split as the station's reference would hold them: a stacked image's
    reference channel, or a plain defect-free image."""
    boards = []
    for item in evalset.images:
        if item.labels:
            continue
        image = read_image(item.path)
        if image is None:
            raise StationError(f"{item.path}: not a readable image")
        stacked = evalset.input_mode == "image+reference" and image.ndim == 3
        boards.append((item.path.name, image[:, :, 1] if stacked else grey(image)))
    return boards


def recapture_false_rejects(
    detector: Detector,
    evalset: EvalSet,
    recipe: Recipe,
    recaptures: int,
    alignment: Alignment,
    progress: Callable[[str], None],
    simulation: Recapture = DEFAULT_RECAPTURE,
) -> dict[str, Any]:
    """Each good board captured again ``recaptures`` times (moved, turned, re-binarised, blurred, re-encoded;
    seeded by its name) and inspected against the original: every FAIL is a false reject. A part that does
    not register to its reference is a reject too (as at the station)."""
    boards = good_boards(evalset) if recaptures > 0 else []
    rejected: list[str] = []
    for number, (name, template) in enumerate(boards, start=1):
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        for copy in range(recaptures):
            board = simulation.apply(template, rng)
            if not _passes(detector, evalset.input_mode, board, template, recipe, alignment):
                rejected.append(f"{name}#{copy}")
        if number % 50 == 0 or number == len(boards):
            progress(f"re-captured {number}/{len(boards)} good boards")
    inspected = len(boards) * recaptures
    return {
        "good_boards": len(boards),
        "inspected": inspected,
        "alignment": alignment,
        "simulation": {
            "max_shift_px": simulation.max_shift_px,
            "max_angle_deg": simulation.max_angle_deg,
            "max_blur_sigma": simulation.max_blur_sigma,
            "threshold_spread": simulation.threshold_spread,
            "jpeg_quality": list(simulation.jpeg_quality),
        },
        "false_reject_count": len(rejected),
        "false_reject_rate": round(len(rejected) / inspected, 4) if inspected else None,
        "false_rejects": rejected,
    }


def _passes(detector: Detector, mode: str, board: Image, template: Image, recipe: Recipe, alignment: Alignment) -> bool:
    try:
        if mode != "image+reference":
            return decide(detector.predict_prepared(board, MAP_CONFIDENCE), recipe).verdict == Verdict.PASS
        stacked = stack_with_reference(board, aligned_reference(board, template, alignment))
        return decide(detector.predict_prepared(stacked, MAP_CONFIDENCE), recipe).verdict == Verdict.PASS
    except PartMismatchError:  # a reject at the station
        return False
