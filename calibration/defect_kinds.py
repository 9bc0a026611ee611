"""Name a difference region by what it does to the part's topology (the six DeepPCB defect kinds).

Extra foreground (e.g. copper) that joins two conductors is a short, one that stands alone is spurious
copper, one attached to a conductor is a spur. Missing foreground that cuts a conductor is an open, one
that leaves a hole inside a conductor is a pin-hole, a bite out of an edge is a mouse bite. Counting
connected pieces and holes in a small window around the region, in the image and in the template,
tells which: no learning, and it works on any binarised layout.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from calibration.golden import Region

DEFECT_KINDS = ("open", "short", "mousebite", "spur", "copper", "pin-hole")

Mask = npt.NDArray[np.bool_]


def _pieces(mask: Mask, min_px: int) -> int:
    """Connected pieces of at least ``min_px`` pixels (binarisation crumbs are not conductors)."""
    _count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    return int(np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] >= min_px))


def _holes(foreground: Mask) -> int:
    """Background pieces that do not reach the window's border (enclosed by foreground)."""
    background = (~foreground).astype(np.uint8)
    count, labels = cv2.connectedComponents(background, connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return int(count - 1 - np.count_nonzero(border))


def classify(region: Region, image_fg: Mask, template_fg: Mask, pad: int = 6, min_piece_px: int = 10) -> str:
    """The defect kind of ``region``; ``image_fg`` / ``template_fg``: foreground masks of the inspected
    image and of the template aligned to it (same shape)."""
    height, width = image_fg.shape
    x1, y1, x2, y2 = region.box
    window = (slice(max(0, y1 - pad), min(height, y2 + pad)), slice(max(0, x1 - pad), min(width, x2 + pad)))
    seen, good = image_fg[window], template_fg[window]
    pieces_seen, pieces_good = _pieces(seen, min_piece_px), _pieces(good, min_piece_px)
    if region.polarity == "extra":
        if pieces_seen < pieces_good:
            return "short"
        if pieces_seen > pieces_good:
            return "copper"
        return "spur"
    if pieces_seen != pieces_good:
        return "open"
    if _holes(seen) > _holes(good):
        return "pin-hole"
    return "mousebite"
