"""Does averaging the region classifier over flipped crops (test-time augmentation) help on a held-out group?

    python scripts/experiments/classifier_flips.py MODEL_FOLDER DATASET [--recaptures N]

MODEL_FOLDER: a registered region classifier (e.g. a leave-one-group-out fold's
runs/cross-groups/folds/GROUP/registry/logo-GROUP); DATASET: its fold's dataset (the held-out group is its
val split). Prints mAP@0.5, mAP@.5:.95, F and re-capture false rejects with and without the flips, and the
classifier's time per part.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from inspection.detectors import load_detector
from inspection.detectors.base import usable_cores
from inspection.detectors.region_backend import Classify, RegionDetector
from inspection.ml.registry.store import weights_file
from inspection.ml.scoring import evaluate_detector, model_imgsz


def with_flips(classify: Classify) -> Classify:
    def averaged(crops: np.ndarray) -> np.ndarray:
        views = [crops, crops[:, :, ::-1], crops[:, ::-1, :], crops[:, ::-1, ::-1]]
        return np.asarray(np.mean([classify(np.ascontiguousarray(v)) for v in views], axis=0), np.float32)

    return averaged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--recaptures", type=int, default=1)
    args = parser.parse_args()
    path = weights_file(args.model)
    for flips in (False, True):
        detector = load_detector(path, model_imgsz(path), "cpu", threads=usable_cores(), prepared_input=True)
        if flips and isinstance(detector, RegionDetector):
            detector.classify = with_flips(detector.classify)
        report = evaluate_detector(detector, args.data, recaptures=args.recaptures, progress=lambda _: None)
        print(
            f"flips={flips}: mAP@0.5 {report['map50']:.4f}, mAP@.5:.95 {report['map50_95']:.4f}, "
            f"F {report['deeppcb_protocol']['f_score']:.4f}, escapes {report['escape_rate']}, "
            f"FR {report['false_reject_rate']}, FR re-captured {report['recapture']['false_reject_rate']}, "
            f"per class {[round(v['ap50'], 3) for v in report['per_class'].values()]}, "
            f"latency p50 {report['latency_ms']['p50']} ms"
        )


if __name__ == "__main__":
    main()
