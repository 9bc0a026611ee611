"""Experiment for the model issue: does giving the detector the template help?

Builds a YOLO dataset whose images stack three channels: the inspected board, its defect-free template,
and their absolute difference (DeepPCB pairs are aligned to well under a pixel in most cases). Then trains
the same small model as the bundled one, so the two validation curves can be compared epoch by epoch.

    python scripts/experiments/template_channels.py --epochs 12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from inspection.ml.dataset.deeppcb import read_deeppcb, write_yolo_dataset
from inspection.ml.training import TrainSettings, train

VALIDATION_GROUPS = {"group77000"}


def stack(test: np.ndarray, template: np.ndarray) -> np.ndarray:
    return np.dstack([test, template, cv2.absdiff(test, template)])


def shifted(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same board moved by up to a pixel: a defect-free pair with realistic misalignment edges."""
    dx, dy = rng.uniform(-1.0, 1.0, size=2)
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, image.shape[::-1], borderMode=cv2.BORDER_REPLICATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("../shared/datasets/deeppcb"))
    parser.add_argument("--out", type=Path, default=Path("runs/template-channels"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--imgsz", type=int, default=320)
    args = parser.parse_args()
    imported = read_deeppcb(args.source)
    data_yaml = write_yolo_dataset(imported, args.out / "dataset", VALIDATION_GROUPS)
    # Replace each linked image by its stacked version. A template (no defect) is stacked with a copy of
    # itself shifted by up to a pixel, so the model learns that alignment edges are not defects.
    rng = np.random.default_rng(0)
    for image in sorted((args.out / "dataset" / "images").rglob("*.jpg")):
        source = image.resolve()
        board = cv2.imread(str(source), cv2.IMREAD_GRAYSCALE)
        if image.name.endswith("_test.jpg"):
            template = cv2.imread(str(source.with_name(source.name.replace("_test", "_temp"))), cv2.IMREAD_GRAYSCALE)
            stacked = stack(board, template)
        else:
            stacked = stack(board, shifted(board, rng))
        image.unlink()
        cv2.imwrite(str(image.with_suffix(".png")), stacked)
    train(TrainSettings(data_yaml, args.out / "train", epochs=args.epochs, imgsz=args.imgsz))


if __name__ == "__main__":
    main()
