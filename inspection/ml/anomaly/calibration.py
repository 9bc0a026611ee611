"""The anomaly model's threshold, set on good images held out from training: each term's median and its
quantile at the target false-reject rate, then the combined score's quantile at that rate (score 0.5).
Two-level parts are scored by the pattern term alone, others by the patch and image terms."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from inspection.detectors.anomaly_backend import MAP_STRIDE, Calibration, TermScale
from inspection.detectors.anomaly_patterns import PatternTable, pooled
from inspection.detectors.image_statistics import GoodStatistics
from inspection.ml.anomaly.good_images import read_all
from inspection.ml.anomaly.memory import FloatArray
from inspection.ml.anomaly.network import score_maps
from inspection.ml.evaluation.anomaly_metrics import quantiles, score_histogram

if TYPE_CHECKING:
    from inspection.ml.anomaly.training import AnomalySettings, Reporter

PARITY_IMAGES = 16  # held-out images the ONNX file is checked on


@dataclass(frozen=True)
class TermSources:
    """What the terms are measured against: the good parts' statistics, and their patterns (two-level parts)."""

    statistics: GoodStatistics
    patterns: PatternTable | None


HOW = (
    "each term the model scores (patch map peak and image statistics distance; for two-level parts the pattern "
    "rarity peak alone) scaled so that its median on the held-out good images is 0 and its bound at the target "
    "false-reject rate is 1; the part's value is the larger; the threshold is that value's bound at the target "
    "rate on the same images, and scores are scaled so that it is 0.5. A bound: the larger of the empirical "
    "quantile (the next value up) and mean + z * standard deviation (z of the normal distribution at the rate), "
    "which guards a threshold set on few images"
)


def upper_bound(values: FloatArray, rate: float) -> float:
    """The value good parts exceed at about ``rate``: see ``HOW``."""
    empirical = float(np.quantile(values, 1.0 - rate, method="higher"))
    normal = float(values.mean() + NormalDist().inv_cdf(1.0 - rate) * values.std())
    return max(empirical, normal)


def held_out_terms(
    scorer: Any, terms: TermSources, paths: list[Path], settings: AnomalySettings, report: Reporter
) -> tuple[dict[str, FloatArray], FloatArray]:
    """The raw term values of the held-out images (the patch map's peak; the image statistics' distance or, for
    two-level parts, the pattern map's peak), and the network inputs of the first ``PARITY_IMAGES``."""
    features, imgsz = settings.inputs, settings.imgsz
    grid = imgsz // MAP_STRIDE
    inputs: list[FloatArray] = []
    raw: dict[str, list[float]] = {"patches": [], "image": [], "patterns": []}
    for start in range(0, len(paths), 16):
        images = read_all(paths[start : start + 16])
        batch = np.concatenate([features.network_input(image, imgsz) for image in images])
        raw["patches"] += list(score_maps(scorer, batch).reshape(len(images), -1).max(axis=1))
        for image in images:
            if terms.patterns is None:
                raw["image"].append(terms.statistics.distance(features.statistics(image)))
            else:
                raw["patterns"].append(float(pooled(terms.patterns.rarity_map(image), grid, grid).max()))
        kept = sum(len(b) for b in inputs)
        inputs.append(batch[: max(0, PARITY_IMAGES - kept)])
        report("threshold", min(start + 16, len(paths)), len(paths))
    values = {name: np.asarray(found, np.float32) for name, found in raw.items() if found}
    return values, np.concatenate(inputs)


def term_scale(values: FloatArray, rate: float) -> TermScale:
    return TermScale(float(np.median(values)), upper_bound(values, rate))


def calibrate(
    scorer: Any, terms: TermSources, paths: list[Path], settings: AnomalySettings, report: Reporter
) -> tuple[dict[str, Any], FloatArray, TermScale]:
    """The card's ``anomaly`` section (calibration, good-score distribution, how it was set), the held-out
    images' network inputs and the patch term's scale (for the export's parity check)."""
    raw, inputs = held_out_terms(scorer, terms, paths, settings, report)
    rate = settings.target_false_reject
    scored = ("patterns",) if terms.patterns is not None else ("patches", "image")
    scales = {name: term_scale(raw[name], rate) for name in scored}
    combined_terms = np.maximum.reduce([scales[name].scaled(raw[name]) for name in scored])
    calibration = Calibration(scales, upper_bound(combined_terms, rate))
    scores = [float(s) for s in calibration.score(combined_terms)]
    section = {
        "threshold": 0.5,
        "target_false_reject": settings.target_false_reject,
        "calibration": calibration.as_dict(),
        "how_set": HOW,
        "held_out_good": {
            "images": len(paths),
            "false_reject_at_threshold": round(float(np.mean(np.asarray(scores) >= 0.5)), 4),
            "score_quantiles": quantiles(scores),
            "score_histogram": score_histogram(scores),
            "scores": [round(s, 4) for s in scores],
        },
    }
    return section, inputs, term_scale(raw["patches"], rate)
