"""The ELPV development split as folders, for the product's own commands (issue 18): OUT/train (600 functional
cells), OUT/test/good (the other functional cells), OUT/test/defect (cells with defect probability >= 0.67);
the same split as ``anomaly_baselines.py elpv``. ELPV is CC BY-NC-SA: development only, never shipped.

    .venv/bin/pip install elpv-dataset
    .venv/bin/python scripts/experiments/elpv_folders.py /tmp/elpv    # --seed N: other cells train and test
    .venv/bin/inspection train --task anomaly --data /tmp/elpv/train --out /tmp/elpv-run --imgsz 160
    .venv/bin/inspection models --registry /tmp/elpv-registry register /tmp/elpv-run --name elpv
    .venv/bin/inspection evaluate --model /tmp/elpv-registry/elpv --data /tmp/elpv/test
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

TRAIN = 600
DEFECTIVE = 0.67


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="an empty or new folder")
    parser.add_argument("--seed", type=int, default=0, help="which functional cells train (0: the development split)")
    args = parser.parse_args()
    out = args.out
    from elpv_dataset.utils import load_dataset  # noqa: PLC0415  (development data, not a dependency)

    images, probability, _types = load_dataset()
    good = np.random.default_rng(args.seed).permutation(np.flatnonzero(probability == 0))
    sets = {"train": good[:TRAIN], "test/good": good[TRAIN:], "test/defect": np.flatnonzero(probability >= DEFECTIVE)}
    for folder, indices in sets.items():
        (out / folder).mkdir(parents=True, exist_ok=True)
        for index in indices:
            cv2.imwrite(str(out / folder / f"cell{index:04d}.png"), images[index])
        print(f"{out / folder}: {len(indices)} cells")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
