"""Does the template detector's own naming of a region (by geometry: what the difference does to the
conductors) help the region classifier on a board group it never saw?

    python scripts/experiments/geometry_prior.py MODEL_FOLDER DATASET [--weights 0 0.3 0.5]

Each region's defect probabilities p (their sum kept) are moved towards the geometric class g:
(1 - w) * p + w * onehot(g) * sum(p). MODEL_FOLDER and DATASET as for classifier_flips.py (a fold's model
and its dataset). Prints the scores for each weight w (0: the classifier alone).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from inspection.detectors import load_detector
from inspection.detectors.base import usable_cores
from inspection.detectors.region_backend import RegionDetector
from inspection.ml.registry.store import weights_file
from inspection.ml.scoring import evaluate_detector, model_imgsz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.3, 0.5])
    args = parser.parse_args()
    path = weights_file(args.model)
    for weight in args.weights:
        detector = load_detector(path, model_imgsz(path), "cpu", threads=usable_cores(), prepared_input=True)
        assert isinstance(detector, RegionDetector)
        detector.settings = dataclasses.replace(detector.settings, geometry_weight=weight)  # the station's own blend
        report = evaluate_detector(detector, args.data, recaptures=0, progress=lambda _: None)
        print(
            f"w={weight}: mAP@0.5 {report['map50']:.4f}, mAP@.5:.95 {report['map50_95']:.4f}, "
            f"F {report['deeppcb_protocol']['f_score']:.4f}, escapes {report['escape_rate']}, "
            f"FR {report['false_reject_rate']}, per class {[round(v['ap50'], 3) for v in report['per_class'].values()]}"
        )


if __name__ == "__main__":
    main()
