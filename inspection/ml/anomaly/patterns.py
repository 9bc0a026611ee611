"""Training step of the pattern term (``inspection/detectors/anomaly_patterns.py``): count the black-and-white
patterns of the good parts, when they are two-level images. Parts that are not (grey surfaces, colour)
keep the patch and image terms instead: thresholded at mid-grey, their patterns say nothing about defects
(ELPV solar cells: AUROC 0.45-0.52 for this term)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inspection.core.channels import is_two_level
from inspection.detectors.anomaly_patterns import BITS, PatternCounts, edge_share, pattern_codes, pattern_size
from inspection.ml.anomaly.good_images import read_all

if TYPE_CHECKING:
    from inspection.ml.anomaly.training import Reporter

TWO_LEVEL_SHARE = 0.9  # of the training images, for the pattern term to be used
BATCH = 16


def count_patterns(
    paths: list[Path], saved: Path, work: Path, report: Reporter
) -> tuple[PatternCounts | None, dict[str, Any]]:
    """The good parts' pattern counts (saved as ``saved``, the run's file the model is registered with) when at
    least ``TWO_LEVEL_SHARE`` of them are two-level, else None; and what was found, for the card. The step's
    end is kept in ``work``, so a resumed run takes it as it was."""
    found = work / "two-level.npy"
    if found.is_file():  # this step finished before (a resumed run)
        counts = PatternCounts.load(saved) if saved.is_file() else None
        two_level, checked = (int(v) for v in np.load(found))
        return counts, _summary(two_level, checked, counts)
    totals = np.zeros(1 << BITS, np.int64)
    two_level, size, edges = 0, 0, []
    for start in range(0, len(paths), BATCH):
        images = read_all(paths[start : start + BATCH])
        size = size or pattern_size(images[0].shape[1], images[0].shape[0])
        two_level += sum(is_two_level(image) for image in images)
        checked = start + len(images)
        if two_level + len(paths) - checked < TWO_LEVEL_SHARE * len(paths):
            np.save(found, np.array([two_level, checked]))  # too many grey parts already: the term cannot be used
            return None, _summary(two_level, checked, None)
        each = [pattern_codes(image, size) for image in images]
        edges += [edge_share(codes) for codes in each]
        totals += np.bincount(np.concatenate([codes.ravel() for codes in each]), minlength=totals.size)
        report("patterns", min(start + BATCH, len(paths)), len(paths))
    seen = np.flatnonzero(totals)
    counts = PatternCounts(size, seen.astype(np.uint32), totals[seen], (min(edges), max(edges)))
    counts.save(saved)
    np.save(found, np.array([two_level, len(paths)]))
    return counts, _summary(two_level, len(paths), counts)


def _summary(two_level: int, checked: int, counts: PatternCounts | None) -> dict[str, Any]:
    summary: dict[str, Any] = {"used": counts is not None, "two_level_images": two_level, "of": checked}
    if counts is not None:
        summary |= {"size": counts.size, "distinct_patterns": int(counts.codes.size)}
    return summary
