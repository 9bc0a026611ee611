"""Name a difference region by what it does to the part's topology (the six DeepPCB defect kinds).

Extra foreground (e.g. copper) that joins two conductors is a short, one that stands alone is spurious
copper, one attached to a conductor is a spur. Missing foreground that cuts a conductor is an open, one
that leaves a hole inside a conductor is a pin-hole, a bite out of an edge is a mouse bite. Counting
connected pieces and holes in a small window around the region, in the image and in the template,
tells which: no learning, and it works on any binarised layout.

Two versions of the rules (``NAMING_RULES``; a detector's settings say which it uses, so a registered
model names its regions as it did when it was measured):

1. pieces and holes counted in the window as they come.
2. an open cuts a conductor: a piece that leaves the window becomes two, or a piece of at least
   ``CUT_OFF_PX`` is cut off that still has part of the good part's outline. An island a void encloses
   (a ring-shaped void inside copper) is no conductor: it is not an open. A void within ``EDGE_PX`` of the
   good part's edge is a bite out of that edge, not a pin-hole. On every labelled region of the 1,000
   shared DeepPCB pairs (``scripts/experiments/region_features.py``), defect regions named right: mean over
   the seven board groups 0.963 -> 0.983, worst group 0.907 -> 0.966, every group better.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from calibration.golden import Region

DEFECT_KINDS = ("open", "short", "mousebite", "spur", "copper", "pin-hole")
PAD_PX = 6  # the window around a region in which pieces and holes are counted
MIN_PIECE_PX = 10  # smaller pieces are binarisation crumbs, not conductors
EDGE_PX = 2  # a void this close to the good part's edge is a bite out of it (version 2)
CUT_OFF_PX = 40  # a smaller piece a void cuts off is a crumb the bite left, not part of a conductor (version 2)

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Pieces:
    """Connected foreground pieces of a window: those that leave it (conductors) and those inside it."""

    leaving: int
    inside: int

    @property
    def total(self) -> int:
        return self.leaving + self.inside


def _on_border(labels: npt.NDArray[np.int32], count: int) -> npt.NDArray[np.bool_]:
    """For each label (0..count-1), whether it reaches the window's border."""
    reaches = np.zeros(count, bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        reaches[edge] = True
    return reaches


def pieces(mask: Mask, min_px: int = MIN_PIECE_PX) -> Pieces:
    """Connected pieces of at least ``min_px`` pixels, split by whether they reach the window's border."""
    count, labels, stats, _centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    big = stats[:, cv2.CC_STAT_AREA] >= min_px
    big[0] = False  # the background
    leaving = int(np.count_nonzero(big & _on_border(labels, count)))
    return Pieces(leaving, int(np.count_nonzero(big)) - leaving)


def holes(foreground: Mask) -> int:
    """Background pieces that do not reach the window's border (enclosed by foreground)."""
    count, labels = cv2.connectedComponents((~foreground).astype(np.uint8), connectivity=4)
    return int(count - 1 - np.count_nonzero(_on_border(labels, count)[1:]))


@dataclass(frozen=True)
class Window:
    """The image's and the good part's foreground around one region."""

    seen: Mask
    good: Mask
    region: Mask  # the region's box inside the window

    @classmethod
    def around(cls, region: Region, image_fg: Mask, template_fg: Mask, pad: int = PAD_PX) -> Window:
        height, width = image_fg.shape
        x1, y1, x2, y2 = region.box
        top, left = max(0, y1 - pad), max(0, x1 - pad)
        rows, cols = slice(top, min(height, y2 + pad)), slice(left, min(width, x2 + pad))
        inside = np.zeros(image_fg[rows, cols].shape, bool)
        inside[y1 - top : y2 - top, x1 - left : x2 - left] = True
        return cls(image_fg[rows, cols], template_fg[rows, cols], inside)


def _extra_kind(seen: Pieces, good: Pieces) -> str:
    if seen.total < good.total:
        return "short"
    if seen.total > good.total:
        return "copper"
    return "spur"


def _rules_1(window: Window) -> str:
    seen, good = pieces(window.seen), pieces(window.good)
    if seen.total != good.total:
        return "open"
    if holes(window.seen) > holes(window.good):
        return "pin-hole"
    return "mousebite"


def _near_edge(window: Window, distance: int = EDGE_PX) -> bool:
    """Whether the missing foreground in the region lies within ``distance`` px of the good part's background."""
    void = (window.good & ~window.seen & window.region).astype(np.uint8)
    grown = cv2.dilate(void, np.ones((2 * distance + 1, 2 * distance + 1), np.uint8)).astype(bool)
    return bool((grown & ~window.good).any())


def _outlined_pieces(foreground: Mask, outline: Mask) -> int:
    """Pieces of at least ``CUT_OFF_PX`` inside the window that touch ``outline`` (the good part's edge)."""
    count, labels, stats, _centroids = cv2.connectedComponentsWithStats(foreground.astype(np.uint8), connectivity=8)
    inside = (stats[:, cv2.CC_STAT_AREA] >= CUT_OFF_PX) & ~_on_border(labels, count)
    inside[0] = False  # the background
    touching = np.zeros(count, bool)
    touching[labels[outline]] = True
    return int(np.count_nonzero(inside & touching))


def _rules_2(window: Window) -> str:
    seen, good = pieces(window.seen), pieces(window.good)
    if seen.leaving > good.leaving:
        return "open"
    outline = cv2.dilate((~window.good).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if _outlined_pieces(window.seen, outline) > _outlined_pieces(window.good, outline):
        return "open"
    if _near_edge(window):
        return "mousebite"
    if holes(window.seen) > holes(window.good) or seen.inside > good.inside:
        return "pin-hole"
    return "mousebite"


MissingRules = Callable[[Window], str]
NAMING_RULES: dict[int, MissingRules] = {1: _rules_1, 2: _rules_2}  # how missing foreground is named


def naming_rules(version: int) -> MissingRules:
    """The rules of ``version``; ``ValueError`` naming the versions this station knows otherwise."""
    rules = NAMING_RULES.get(version)
    if rules is None:
        raise ValueError(f"naming rules {version} unknown: this station knows {sorted(NAMING_RULES)}")
    return rules


def classify(region: Region, image_fg: Mask, template_fg: Mask, rules: int = 1) -> str:
    """The defect kind of ``region``; ``image_fg`` / ``template_fg``: foreground masks of the inspected
    image and of the template aligned to it (same shape); ``rules``: a version of ``NAMING_RULES``."""
    missing_kind = naming_rules(rules)
    window = Window.around(region, image_fg, template_fg)
    if region.polarity == "extra":
        return _extra_kind(pieces(window.seen), pieces(window.good))
    return missing_kind(window)
