"""The pattern term of the anomaly detector, for two-level parts (binarised scans such as DeepPCB's boards,
back-lit silhouettes, etched or printed patterns): how rare each small black-and-white neighbourhood of the
part is among the good parts'.

Every 5 x 5 neighbourhood of the part, thresholded at mid-grey, is one of 2^25 patterns; training counts how
often each occurs on the good parts. A part's rarity map is -log of each neighbourhood's share (a pattern
never seen: as if seen half a time), averaged over ``BOX`` pixels; the term is its peak. A spur, a bite out
of a track, a bridge or a pin-hole makes edge patterns that a good part's tracks, pads and gaps do not, on any
layout: on DeepPCB, trained on six board groups and scored on the seventh, image AUROC 0.95-0.99 where the
patch network and the image statistics stay at chance (``scripts/experiments/anomaly_deeppcb.py``).

Position-free and alignment-free, like the other terms; numpy and OpenCV only, so every backend shares it.
The part is scaled to a square of the model's pattern size (the good parts' own size, at most ``MAX_SIZE``)
so that a pattern covers the same share of every part.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from inspection.core.atomic import save_arrays_atomic
from inspection.core.channels import grey
from inspection.core.errors import ModelError
from inspection.core.types import Image

PATTERNS_FILE = "patterns.npz"
SIDE = 5  # a pattern is SIDE x SIDE pixels: SIDE**2 bits
BITS = SIDE * SIDE
LEVEL = 128  # the threshold between the two levels
BOX = 7  # rarity is averaged over BOX x BOX pixels (one odd pixel is noise; a defect is a few together)
MAX_SIZE = 640  # larger parts are scaled down to this square
EDGE_MARGIN = 2.0  # a part with fewer than half the edges of the good part with fewest (or twice the most) fails
FULL = np.uint32((1 << BITS) - 1)
QUANTUM = 8  # the rarity table keeps 1/8 of a unit (uint8: 2^25 bytes, 32 MB)

Codes = npt.NDArray[np.uint32]
FloatMap = npt.NDArray[np.float32]


def pattern_size(width: int, height: int) -> int:
    """The square the parts are scaled to: their longer side, at most ``MAX_SIZE``."""
    return max(SIDE + BOX, min(MAX_SIZE, max(width, height)))


def pattern_codes(image: Image, size: int) -> Codes:
    """The code of every SIDE x SIDE neighbourhood of the part scaled to ``size`` x ``size`` (one per bit)."""
    board = grey(image)
    if board.shape != (size, size):
        board = cv2.resize(board, (size, size), interpolation=cv2.INTER_AREA)
    bits = (board >= LEVEL).astype(np.uint32)
    inner = size - SIDE + 1
    codes = np.zeros((inner, inner), np.uint32)
    for bit in range(BITS):
        dy, dx = divmod(bit, SIDE)
        codes |= bits[dy : dy + inner, dx : dx + inner] << np.uint32(bit)
    return codes


@dataclass(frozen=True)
class PatternCounts:
    """How often each pattern occurred on the good parts (only those that did)."""

    size: int
    codes: Codes  # sorted, unique
    counts: npt.NDArray[np.int64]
    edge_shares: tuple[float, float]  # the lowest and highest share of edge neighbourhoods on a good part

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {"size": np.asarray(self.size, np.int64), "codes": self.codes}
        arrays |= {"counts": self.counts, "edge_shares": np.asarray(self.edge_shares, np.float64)}
        save_arrays_atomic(path, arrays)

    @classmethod
    def load(cls, path: Path) -> PatternCounts:
        try:
            with np.load(path) as data:
                low, high = (float(v) for v in data["edge_shares"])
                codes, found = data["codes"].astype(np.uint32), data["counts"].astype(np.int64)
                counts = cls(int(data["size"]), codes, found, (low, high))
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"{path}: not a pattern table ({exc}); register the run again") from None
        if counts.codes.shape != counts.counts.shape or not counts.counts.size or counts.size < SIDE + BOX:
            raise ModelError(f"{path}: the pattern table is damaged (codes and counts differ); register the run again")
        return counts


def edge_share(codes: Codes) -> float:
    """The share of neighbourhoods that are neither all dark nor all bright."""
    return float(np.count_nonzero((codes != 0) & (codes != FULL)) / max(codes.size, 1))


class PatternTable:
    """The rarity of every pattern, looked up per neighbourhood of a part."""

    def __init__(self, counts: PatternCounts) -> None:
        self.size = counts.size
        self.edge_shares = counts.edge_shares
        total = float(counts.counts.sum())
        unseen = -np.log(0.5 / total)
        rarity = -np.log(counts.counts.astype(np.float64) / total)
        self.table = np.full(1 << BITS, _quantised(unseen), np.uint8)
        self.table[counts.codes] = _quantised(rarity)

    def rarity_map(self, image: Image) -> FloatMap:
        """Each neighbourhood's rarity, averaged over ``BOX`` x ``BOX`` (pattern-size pixels)."""
        return self.assess(image)[0]

    def assess(self, image: Image) -> tuple[FloatMap, bool]:
        """The rarity map, and whether the part has as many edges as a good one may (``EDGE_MARGIN``): an empty
        frame (no part, the light off) is all common patterns, so its map alone would pass it."""
        codes = pattern_codes(image, self.size)
        rarity = self.table[codes].astype(np.float32) / QUANTUM
        low, high = self.edge_shares
        share = edge_share(codes)
        return cv2.blur(rarity, (BOX, BOX)), low / EDGE_MARGIN <= share <= min(1.0, high * EDGE_MARGIN)


def _quantised(values: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    return np.clip(np.round(np.asarray(values) * QUANTUM), 0, 255).astype(np.uint8)


def pooled(rarity: FloatMap, rows: int, cols: int) -> FloatMap:
    """The map's maximum over each of rows x cols cells (the patch network's grid), so no peak is lost."""
    height, width = rarity.shape
    kernel = np.ones((-(-height // rows) + 2, -(-width // cols) + 2), np.uint8)  # a cell and a pixel around it
    peaks = cv2.dilate(rarity, kernel)
    return cv2.resize(peaks, (cols, rows), interpolation=cv2.INTER_NEAREST)  # type: ignore[no-any-return]
