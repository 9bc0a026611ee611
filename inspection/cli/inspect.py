"""``inspection inspect``: inspect image files or folders; JSON lines for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from inspection.cli.options import Commands
from inspection.config import DEMO_RECIPE, ClassRule, Recipe, load_recipe
from inspection.core.errors import StationError
from inspection.core.images import UnreadableImageError, list_images, load_image
from inspection.detectors import load_detector
from inspection.detectors.base import usable_cores
from inspection.detectors.card import ModelCard, find_card, read_card
from inspection.ml.registry.selection import registry_folder, resolve_model_file
from inspection.station.part import detect_and_decide


def expand(paths: list[Path]) -> list[tuple[str, Path]]:
    """Each image with the path as the user gave it (files) or as found (folders, globs)."""
    found: list[tuple[str, Path]] = []
    for path in paths:
        if path.is_file():
            found.append((str(path), path))
            continue
        images = list_images(path)
        if not images:
            raise StationError(f"{path}: no such image file, or no images in that folder or pattern")
        found.extend((str(image), image) for image in images)
    return found


def _with_overrides(recipe: Recipe, model: Path | None, reference: Path | None, conf: float | None) -> Recipe:
    """The recipe with the command line's model, reference and threshold."""
    if conf is not None and not 0.0 <= conf <= 1.0:
        raise StationError(f"--conf {conf}: must be between 0 and 1")
    if model is not None:
        recipe = recipe.model_copy(update={"model": model})
    if reference is not None:
        recipe = recipe.model_copy(update={"reference": reference})
    if conf is not None:
        rules = {
            label: ClassRule(min_confidence=conf, min_area_px=r.min_area_px, max_count=r.max_count)
            for label, r in recipe.rules.items()
        }
        default = recipe.default_rule.model_copy(update={"min_confidence": conf})
        recipe = recipe.model_copy(update={"rules": rules, "default_rule": default})
    return recipe


def model_card(model: Path) -> ModelCard | None:
    """The card of the model a command line names (a registry name or folder, or a file in one)."""
    folder = registry_folder(model)
    if folder is not None:
        return read_card(folder)
    found = find_card(model) if model.is_file() else None
    return found[1] if found else None


def recipe_for(recipe_path: Path | None, model: Path | None) -> Recipe:
    """The recipe given; else, for a model whose classes are not the demo recipe's (an anomaly model, a
    model of another product), one made from its card (its classes, the default rule: the card's threshold
    decides); else the demo station's recipe."""
    if recipe_path is not None or model is None:
        return load_recipe(recipe_path or DEMO_RECIPE)
    demo = load_recipe(DEMO_RECIPE)
    card = model_card(model)
    if card is None or card.classes == demo.classes:
        return demo
    return Recipe(name=card.name, model=model, classes=list(card.classes), imgsz=card.input.imgsz)


def inspect_paths(
    paths: list[Path],
    recipe_path: Path | None,
    model: Path | None,
    conf: float | None,
    as_json: bool,
    device: str = "auto",
    reference: Path | None = None,
) -> int:
    recipe = _with_overrides(recipe_for(recipe_path, model), model, reference, conf)
    images = expand(paths)
    # Nothing else runs beside it here, so the detector may use every core.
    choice = resolve_model_file(recipe.model, device)
    detector = load_detector(
        choice.path,
        recipe.imgsz,
        choice.device,
        recipe.iou,
        expected_classes=recipe.classes,
        threads=usable_cores(),
        reference=recipe.reference,
        alignment=recipe.reference_alignment,
    )
    unreadable = 0
    for shown, path in images:
        try:
            image = load_image(path)
        except UnreadableImageError as exc:
            reason = str(exc).removeprefix(f"{path}: ")
            print(f"error: {shown}: {reason}; skipped", file=sys.stderr)
            unreadable += 1
            continue
        prediction, decision = detect_and_decide(detector, image, recipe)
        if as_json:
            result: dict[str, object] = {
                "image": shown,
                "verdict": decision.verdict.value,
                "reasons": list(decision.reasons),
                "detections": [d.to_json() for d in decision.kept],
            }
            if prediction.reference is not None:
                result["reference"] = prediction.reference
            if prediction.score is not None:
                result["score"] = round(prediction.score, 4)
            print(json.dumps(result), flush=True)
        else:
            reasons = "; ".join(decision.reasons)
            score = "" if prediction.score is None else f"  score {prediction.score:.3f}"
            print(
                f"{decision.verdict.value.upper():4}  {shown}{score}" + (f"  ({reasons})" if reasons else ""),
                flush=True,
            )
    if unreadable:
        print(f"{unreadable} of {len(images)} image(s) could not be read", file=sys.stderr)
        return 1
    return 0


def add_commands(commands: Commands) -> None:
    inspect = commands.add_parser(
        "inspect",
        help="inspect image files or folders",
        description=(
            "Inspect images with the recipe's model and rules. With --json: one JSON object per image on stdout "
            "(an anomaly model adds 'score': 0.5 is its threshold)."
        ),
    )
    inspect.add_argument("paths", nargs="+", type=Path, help="image files, folders or glob patterns")
    inspect.add_argument("--recipe", type=Path, help="recipe YAML (default: the demo station's recipe)")
    inspect.add_argument(
        "--model",
        type=Path,
        help=(
            "model file (.pt, .onnx, OpenVINO .xml), registry model folder or name, instead of the recipe's; "
            "without --recipe, a model of other classes than the demo's (e.g. an anomaly model) is judged by "
            "its card alone"
        ),
    )
    inspect.add_argument(
        "--reference",
        type=Path,
        help=(
            "reference image(s) of the good part (file, folder or glob) for models that compare each part "
            "with one; with several, each image is compared with the most similar (default: the recipe's)"
        ),
    )
    inspect.add_argument("--conf", type=float, help="minimum confidence of reported detections (all classes)")
    inspect.add_argument("--device", default="auto", help="auto (default), cpu, cuda")
    inspect.add_argument("--json", action="store_true", help="JSON lines on stdout")
    inspect.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return inspect_paths(args.paths, args.recipe, args.model, args.conf, args.json, args.device, args.reference)
