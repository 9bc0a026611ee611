"""Image-level verdict rates of a model on DeepPCB pairs, for a few confidence thresholds.

escape rate: defective boards (``*_test.jpg``) judged PASS; false-reject rate: templates (``*_temp.jpg``)
judged FAIL. Usage:

    python scripts/verdict_rates.py ../shared/datasets/deeppcb/group77000 [--model M] [--recipe R]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inspection.config import DEMO_RECIPE, load_recipe
from inspection.core.images import read_image
from inspection.detectors import load_detector
from inspection.ml.registry.selection import resolve_model_file
from inspection.quality.rules import decide

THRESHOLDS = (0.25, 0.3, 0.4, 0.5, 0.6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="folder searched recursively for *_test.jpg / *_temp.jpg")
    parser.add_argument("--recipe", type=Path, default=DEMO_RECIPE)
    parser.add_argument("--model", type=Path)
    args = parser.parse_args()
    recipe = load_recipe(args.recipe)
    if args.model:
        recipe = recipe.model_copy(update={"model": args.model})
    choice = resolve_model_file(recipe.model, "auto")
    detector = load_detector(
        choice.path, recipe.imgsz, choice.device, recipe.iou, expected_classes=recipe.classes,
        reference=recipe.reference, alignment=recipe.reference_alignment,
    )  # fmt: skip
    tests = sorted(args.folder.rglob("*_test.jpg"))
    templates = sorted(args.folder.rglob("*_temp.jpg"))
    predictions = {
        path: detector.predict(read_image(path), min(THRESHOLDS)).detections  # type: ignore[arg-type]
        for path in [*tests, *templates]
    }
    print(f"{len(tests)} defective boards, {len(templates)} templates, model {detector.info.name}")
    print("threshold  escapes  escape rate  false rejects  false-reject rate")
    for threshold in THRESHOLDS:
        rule = recipe.default_rule.model_copy(update={"min_confidence": threshold})
        at = recipe.model_copy(update={"default_rule": rule, "rules": {}})
        escapes = sum(decide(predictions[p], at).verdict.value == "pass" for p in tests)
        rejects = sum(decide(predictions[p], at).verdict.value == "fail" for p in templates)
        escape_rate, reject_rate = escapes / len(tests), rejects / len(templates)
        print(f"{threshold:9.2f}  {escapes:7d}  {escape_rate:11.1%}  {rejects:13d}  {reject_rate:17.1%}")


if __name__ == "__main__":
    main()
