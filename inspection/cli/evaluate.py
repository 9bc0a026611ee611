"""``inspection evaluate``: accuracy, escapes, false rejects and latency of a model on a dataset split."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspection.cli.options import REGISTRY_HELP, Commands
from inspection.config import ClassRule, Recipe, load_recipe
from inspection.core.errors import StationError
from inspection.core.images import read_image
from inspection.detectors import load_detector
from inspection.detectors.base import usable_cores
from inspection.detectors.card import find_card, read_card, write_card
from inspection.ml.dataset.splits import read_split
from inspection.ml.evaluation.metrics import Evaluation, ImageResult
from inspection.ml.registry.store import DEFAULT_REGISTRY, now, resolve_model, weights_file
from inspection.quality.rules import decide

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
) -> dict[str, Any]:
    evalset = read_split(data, split)
    detector = load_detector(model, model_imgsz(model), device, threads=usable_cores(), prepared_input=True)
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
    evaluation = Evaluation(evalset.classes)
    for number, item in enumerate(evalset.images, start=1):
        image = read_image(item.path)
        if image is None:
            raise StationError(f"{item.path}: not a readable image")
        start = time.perf_counter()
        detections = detector.predict_prepared(image, MAP_CONFIDENCE)
        latency = time.perf_counter() - start
        decision = decide(detections, recipe)
        truth = item.boxes(image.shape[1], image.shape[0])
        evaluation.results.append(
            ImageResult(item.path.name, truth, detections, list(decision.kept), decision.verdict, latency)
        )
        if number % 50 == 0 or number == len(evalset.images):
            progress(f"evaluated {number}/{len(evalset.images)} images")
    summary = evaluation.summary()
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


def format_table(report: dict[str, Any]) -> str:
    """The terminal / Markdown table."""
    protocol = report["deeppcb_protocol"]
    lines = [
        f"Model {report['model']} on {report['data']} ({report['split']}): {report['images']} images, "
        f"{report['boxes']} boxes",
        "",
        "| class | boxes | AP@0.5 | AP@0.5:0.95 | precision | recall | F-score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in report["per_class"].items():
        lines.append(
            f"| {name} | {row['boxes']} | {row['ap50']:.3f} | {row['ap50_95']:.3f} | {row['precision']:.3f} | "
            f"{row['recall']:.3f} | {row['f_score']:.3f} |"
        )
    lines.append(
        f"| **all** | {report['boxes']} | **{report['map50']:.3f}** | **{report['map50_95']:.3f}** | "
        f"{protocol['precision']:.3f} | {protocol['recall']:.3f} | {protocol['f_score']:.3f} |"
    )
    point = report["operating_point"]
    escape = report["escape_rate"]
    false_reject = report["false_reject_rate"]
    latency = report["latency_ms"]
    lines += [
        "",
        f"Precision / recall / F-score: DeepPCB protocol (IoU > {protocol['iou_above']}, same class) at confidence "
        f">= {point['min_confidence']}.",
        *_agnostic_line(protocol),
        f"Escapes (defective image judged PASS): {_rate(escape)} of {report['defective_images']}; "
        f"false rejects (defect-free image judged FAIL): {_rate(false_reject)} of {report['defect_free_images']}.",
        f"Latency per part ({report['backend']}): mean {latency['mean']} ms, p50 {latency['p50']} ms, "
        f"p95 {latency['p95']} ms.",
    ]
    return "\n".join(lines)


def _agnostic_line(protocol: dict[str, Any]) -> list[str]:
    """Localisation alone (any class); absent from reports written before it existed."""
    agnostic = protocol.get("class_agnostic")
    if agnostic is None:
        return []
    return [
        f"Class-agnostic (localisation only): precision {agnostic['precision']:.3f}, recall {agnostic['recall']:.3f}, "
        f"F-score {agnostic['f_score']:.3f}."
    ]


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def run_evaluate(
    model: str,
    data: Path,
    recipe: Path | None,
    conf: float | None,
    split: str,
    json_out: Path | None,
    markdown_out: Path | None,
    save_to_card: bool,
    registry: Path = DEFAULT_REGISTRY,
) -> int:
    path = model_path(model, registry)
    report = evaluate(path, data, recipe, conf, split)
    table = format_table(report)
    print(table)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2) + "\n")
    if markdown_out is not None:
        markdown_out.parent.mkdir(parents=True, exist_ok=True)
        markdown_out.write_text(table + "\n")
    if save_to_card:
        folder = resolve_model(registry, model)
        card = read_card(folder)
        kept = {k: v for k, v in report.items() if k not in ("escapes", "false_rejects")}
        counts = {"escape_count": len(report["escapes"]), "false_reject_count": len(report["false_rejects"])}
        card.metrics = {**kept, **counts}
        write_card(folder, card)
        print(f"metrics written to {folder / 'card.yaml'}")
    return 0


def add_commands(commands: Commands) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="measure a model on a labelled dataset",
        description=(
            "Measure a model on a dataset split: mAP@0.5 and mAP@0.5:0.95 overall and per class; precision, "
            "recall and F-score with the DeepPCB protocol (IoU > 0.33, same class) at the operating threshold; "
            "image-level escape and false-reject rates; latency per part. Prints a table; writes JSON / Markdown."
        ),
    )
    evaluate.add_argument("--model", required=True, help="registry name, registry folder, or model file")
    evaluate.add_argument("--data", type=Path, required=True, help="dataset folder from 'inspection dataset import'")
    evaluate.add_argument("--split", default="val", help="dataset split (default val)")
    evaluate.add_argument("--recipe", type=Path, help="recipe whose rules give the verdicts")
    evaluate.add_argument("--conf", type=float, help="operating threshold without a recipe (default 0.5)")
    evaluate.add_argument("--json", type=Path, help="write the full report as JSON here")
    evaluate.add_argument("--markdown", type=Path, help="write the table as Markdown here")
    evaluate.add_argument("--save-to-card", action="store_true", help="store the metrics in the model's card")
    evaluate.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help=REGISTRY_HELP)
    evaluate.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return run_evaluate(
        args.model, args.data, args.recipe, args.conf, args.split, args.json, args.markdown, args.save_to_card,
        args.registry,
    )  # fmt: skip
