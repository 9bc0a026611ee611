"""How far can the default detector get by naming its regions better? The ceiling of its proposals.

    python scripts/experiments/region_ceiling.py [RUN]     # RUN: a leave-one-group-out folder (runs/cross-groups)

For every fold of RUN (``inspection evaluate --cross-groups``), on its held-out group, scored as the
protocol scores it (the fold's own box corrections, the demo recipe's 0.5 for the verdicts and F):
- ``as trained``: the fold's classifier (it must match the fold's report);
- ``perfect naming``: every golden-template region whose box (corrected for its class) overlaps a labelled
  defect by IoU >= 0.5 named as that defect with confidence 1, every other region dropped. No classifier can
  do better with these regions: what stays missing are defects that no region covers by 0.5 (split into
  pieces, merged with another, or not seen at all), and boxes short of the higher IoU thresholds.

Measured 2026-12-07 on the folds of the shipped model (runs/cross-groups of scripts/train_default_model.sh,
90 s): as trained mean mAP@0.5 0.966 (worst 0.932), mAP@.5:.95 0.704 (worst 0.624), F 0.955 (worst 0.911);
perfect naming 0.984 (worst 0.954, group 20085; 44000 0.978), mAP@.5:.95 0.713 (worst 0.638), F 0.992 (worst
0.974). Issue 17's targets (mean 0.99, worst 0.98, mAP@.5:.95 0.75) are beyond these regions whatever names
them; its F (0.985) is not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from calibration.golden import GoldenTemplate  # noqa: E402
from inspection.core.boxes import iou_matrix  # noqa: E402
from inspection.core.images import read_image  # noqa: E402
from inspection.core.types import Detection  # noqa: E402
from inspection.detectors import load_detector  # noqa: E402
from inspection.detectors.region_backend import RegionDetector, proposed_crops  # noqa: E402
from inspection.ml.dataset.splits import read_split  # noqa: E402
from inspection.ml.evaluation.metrics import Evaluation, ImageResult  # noqa: E402
from inspection.ml.scoring import MAP_CONFIDENCE, operating_recipe  # noqa: E402
from inspection.quality.rules import decide  # noqa: E402

MATCH_IOU = 0.5
MODES = ("as trained", "perfect naming")


def named_perfectly(
    detector: RegionDetector, regions: list[Detection], truth: list[tuple[int, tuple]], size: tuple[int, int]
) -> np.ndarray:
    classes, settings = detector.info.classes, detector.settings
    named = np.zeros((len(regions), len(classes)), np.float32)
    for row, region in enumerate(regions):
        for cls, box in truth:
            # its box corrected for the labelled class, as the detector draws a region named so
            corrected = settings.box(classes[cls], region.box, *size)
            if iou_matrix([corrected], [box])[0, 0] >= MATCH_IOU:
                named[row, cls] = 1.0
                break
    return named


def score_fold(fold: Path) -> dict[str, dict]:
    model = next((fold / "registry").iterdir())
    detector = load_detector(model / "model.pt", 64, "cpu", threads=2, prepared_input=True)
    assert isinstance(detector, RegionDetector)
    recipe = operating_recipe(model / "model.pt", detector.info.classes, None, None)
    evaluations = {mode: Evaluation(detector.info.classes) for mode in MODES}
    for item in read_split(fold / "dataset", "val").images:
        image = read_image(item.path)
        template = GoldenTemplate.from_image(image[:, :, 1], detector.proposer.settings.edge_px)
        regions, crops = proposed_crops(detector.proposer, image[:, :, 0], template)
        size = (image.shape[1], image.shape[0])
        truth = item.boxes(*size)
        for mode, evaluation in evaluations.items():
            found: list[Detection] = []
            if regions:
                perfect = mode == "perfect naming"
                named = named_perfectly(detector, regions, truth, size) if perfect else detector.name(regions, crops)
                found = detector.detections(regions, named, *size, MAP_CONFIDENCE)
            decision = decide(found, recipe)
            result = ImageResult(item.path.name, truth, found, list(decision.kept), decision.verdict, 0.0)
            evaluation.results.append(result)
    detector.close()
    return {mode: evaluation.summary() for mode, evaluation in evaluations.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, nargs="?", default=ROOT / "runs" / "cross-groups")
    args = parser.parse_args()
    figures: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
    print("| held-out group | naming | mAP@0.5 | mAP@.5:.95 | F (IoU>0.33) |\n| --- | --- | ---: | ---: | ---: |")
    for fold in sorted((args.run / "folds").iterdir()):
        for mode, summary in score_fold(fold).items():
            row = (summary["map50"], summary["map50_95"], summary["deeppcb_protocol"]["f_score"])
            figures[mode].append(row)
            print(f"| {fold.name} | {mode} | " + " | ".join(f"{value:.3f}" for value in row) + " |", flush=True)
    for mode, rows in figures.items():
        values = np.asarray(rows)
        mean, worst = values.mean(axis=0), values.min(axis=0)
        print(f"| **mean** | {mode} | " + " | ".join(f"{v:.3f}" for v in mean) + " |")
        print(f"| **worst** | {mode} | " + " | ".join(f"{v:.3f}" for v in worst) + " |")


if __name__ == "__main__":
    main()
