"""Measures of an anomaly score: image AUROC and the histogram of scores (0.5: the model's threshold)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

HISTOGRAM_STEP = 0.1
HISTOGRAM_TOP = 1.0  # scores above it fall in the last bin


def auroc(good: Sequence[float], defective: Sequence[float]) -> float | None:
    """The chance that a defective part scores above a good one (ties count half); None without both."""
    if not len(good) or not len(defective):
        return None
    scores = np.concatenate([np.asarray(good, np.float64), np.asarray(defective, np.float64)])
    order = scores.argsort(kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # ties share their mean rank
        tied = scores == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    bad_ranks = ranks[len(good) :].sum() - len(defective) * (len(defective) + 1) / 2
    return round(float(bad_ranks / (len(good) * len(defective))), 4)


def score_histogram(scores: Sequence[float]) -> dict[str, int]:
    """Counts per score bin of width 0.1 from 0 to 1 ("0.4-0.5", ...), the last bin open ("1.0+")."""
    edges = np.arange(0.0, HISTOGRAM_TOP + 1e-9, HISTOGRAM_STEP)
    counts = {f"{low:.1f}-{low + HISTOGRAM_STEP:.1f}": 0 for low in edges[:-1]}
    counts[f"{HISTOGRAM_TOP:.1f}+"] = 0
    keys = list(counts)
    for score in scores:
        index = min(int(max(score, 0.0) / HISTOGRAM_STEP), len(keys) - 1)
        counts[keys[index]] += 1
    return counts


def quantiles(scores: Sequence[float]) -> dict[str, float]:
    """Min, median, 95th and 99th percentile and max (rounded)."""
    values = np.asarray(scores, np.float64)
    points = {"min": 0.0, "p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}
    return {name: round(float(np.percentile(values, q)), 4) for name, q in points.items()}
