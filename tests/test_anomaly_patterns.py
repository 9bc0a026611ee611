"""The pattern term (``inspection/detectors/anomaly_patterns.py``) on real boards: counted on the templates of
the bundled DeepPCB sample boards, it finds a board's labelled defects where they are, and leaves that
board's own template, moved and re-binarised as a re-capture is, lower."""

from __future__ import annotations

import cv2
import numpy as np
from conftest import ROOT

from inspection.core.channels import is_two_level
from inspection.core.recapture import DEFAULT_RECAPTURE
from inspection.detectors.anomaly_patterns import (
    BITS,
    SIDE,
    PatternCounts,
    PatternTable,
    edge_share,
    pattern_codes,
    pooled,
)  # fmt: skip

SAMPLE = ROOT / "datasets" / "deeppcb-sample"


def _boards() -> list[str]:
    return sorted(p.stem.removesuffix("_temp") for p in (SAMPLE / "images").glob("*_temp.jpg"))


def _grey(name: str) -> np.ndarray:
    return cv2.imread(str(SAMPLE / "images" / name), cv2.IMREAD_GRAYSCALE)


def test_codes_say_which_pixels_of_each_neighbourhood_are_bright() -> None:
    part = np.zeros((8, 8), np.uint8)
    part[2, 3] = 255  # one bright pixel
    codes = pattern_codes(part, 8)
    assert codes.shape == (8 - SIDE + 1, 8 - SIDE + 1)
    assert codes[0, 0] == 1 << (2 * SIDE + 3)  # row 2, column 3 of the neighbourhood at (0, 0)
    assert codes[2, 3] == 1  # its own top-left corner
    assert codes[3, 3] == 0 and codes.max() < 1 << BITS


def test_defects_are_rarer_than_a_recaptured_good_board() -> None:
    boards = _boards()
    held_out, known = boards[0], boards[1:]
    found = np.concatenate([pattern_codes(_grey(f"{b}_temp.jpg"), 640).ravel() for b in known])
    totals = np.bincount(found, minlength=1 << BITS)
    seen = np.flatnonzero(totals)
    edges = [edge_share(pattern_codes(_grey(f"{b}_temp.jpg"), 640)) for b in known]
    table = PatternTable(PatternCounts(640, seen.astype(np.uint32), totals[seen], (min(edges), max(edges))))

    defective = _grey(f"{held_out}_test.jpg")
    recaptured = DEFAULT_RECAPTURE.apply(_grey(f"{held_out}_temp.jpg"), np.random.default_rng(0))
    assert is_two_level(defective) and is_two_level(recaptured)
    defect_map, good_map = table.rarity_map(defective), table.rarity_map(recaptured)
    assert defect_map.max() > good_map.max()
    # an empty frame is all common patterns: its map is low, but it has no edges, so it is judged as a whole
    for empty in (np.zeros_like(recaptured), np.full_like(recaptured, 255)):
        empty_map, plausible = table.assess(empty)
        assert empty_map.max() < good_map.max() and not plausible
    assert table.assess(recaptured)[1] and table.assess(defective)[1]
    # the defective board's rarest places lie on its labelled defects (map pixel (y, x) ~ part pixel (y+2, x+2))
    lines = (SAMPLE / "labels" / f"{held_out}.txt").read_text().split("\n")
    labels = [line.replace(",", " ").split() for line in lines]
    boxes = [tuple(int(v) for v in line[:4]) for line in labels if line]
    row, col = np.unravel_index(int(defect_map.argmax()), defect_map.shape)
    assert any(x1 - 4 <= col + 2 <= x2 + 4 and y1 - 4 <= row + 2 <= y2 + 4 for x1, y1, x2, y2 in boxes)
    # pooled to a coarse grid, no peak is lost
    assert pooled(defect_map, 40, 40).max() == defect_map.max()


def test_grey_images_are_not_two_level() -> None:
    board = _grey(f"{_boards()[0]}_temp.jpg")
    assert is_two_level(board)
    assert not is_two_level(cv2.GaussianBlur(board, (0, 0), 3.0))
