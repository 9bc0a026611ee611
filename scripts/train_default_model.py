"""Train the bundled DeepPCB model from ../shared/datasets/deeppcb (group-held-out validation).

Usage: python scripts/train_default_model.py [--epochs N] [--imgsz PX] [--out runs/deeppcb]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from inspection.dataset.deeppcb import read_deeppcb, write_yolo_dataset
from inspection.training import TrainSettings, train

VALIDATION_GROUPS = {"group77000"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=Path("../shared/datasets/deeppcb"))
    parser.add_argument("--out", type=Path, default=Path("runs/deeppcb"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    imported = read_deeppcb(args.source)
    for problem in imported.problems:
        print(f"label problem: {problem}")
    print(f"{len(imported.pairs)} pairs read; validation groups: {sorted(VALIDATION_GROUPS)}")
    data_yaml = write_yolo_dataset(imported, args.out / "dataset", VALIDATION_GROUPS)
    best = train(TrainSettings(data_yaml, args.out, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch))
    print(f"best weights: {best}")


if __name__ == "__main__":
    main()
