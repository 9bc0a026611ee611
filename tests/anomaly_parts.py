"""Real parts for the anomaly model's tests: crops of the bundled DeepPCB sample boards. good/ (training:
template crops at random places), test/good and test/defect (the same places of held-out boards, without
and with their labelled defects)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from conftest import ROOT

SAMPLE = ROOT / "datasets" / "deeppcb-sample"
CROP = 96
HELD_OUT_BOARDS = 4  # their defects and the same places of their templates are the test parts


def _crop(image: np.ndarray, cx: int, cy: int, blur: float = 0.0) -> np.ndarray:
    if blur:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    half = CROP // 2
    x = min(max(cx - half, 0), image.shape[1] - CROP)
    y = min(max(cy - half, 0), image.shape[0] - CROP)
    return image[y : y + CROP, x : x + CROP]


def make_parts(root: Path, blur: float = 0.0, per_board: int = 6) -> Path:
    """Write the parts under ``root``; returns it. ``blur``: each crop out of focus by this Gaussian sigma (px),
    so grey edges: parts that are not two-level. ``per_board``: good crops of each training board."""
    boards = sorted(p.stem.removesuffix("_temp") for p in (SAMPLE / "images").glob("*_temp.jpg"))
    rng = np.random.default_rng(0)
    for folder in ("good", "test/good", "test/defect"):
        (root / folder).mkdir(parents=True)
    for board in boards[HELD_OUT_BOARDS:]:
        template = cv2.imread(str(SAMPLE / "images" / f"{board}_temp.jpg"), cv2.IMREAD_GRAYSCALE)
        for n in range(per_board):
            cx, cy = (int(v) for v in rng.integers(CROP // 2, 640 - CROP // 2, 2))
            cv2.imwrite(str(root / "good" / f"{board}_{n}.png"), _crop(template, cx, cy, blur))
    for board in boards[:HELD_OUT_BOARDS]:
        template = cv2.imread(str(SAMPLE / "images" / f"{board}_temp.jpg"), cv2.IMREAD_GRAYSCALE)
        test = cv2.imread(str(SAMPLE / "images" / f"{board}_test.jpg"), cv2.IMREAD_GRAYSCALE)
        for n, line in enumerate((SAMPLE / "labels" / f"{board}.txt").read_text().split("\n")):
            if not line.strip():
                continue
            x1, y1, x2, y2 = (int(v) for v in line.replace(",", " ").split()[:4])
            cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
            cv2.imwrite(str(root / "test/defect" / f"{board}_{n}.png"), _crop(test, cx, cy, blur))
            cv2.imwrite(str(root / "test/good" / f"{board}_{n}.png"), _crop(template, cx, cy, blur))
    return root
