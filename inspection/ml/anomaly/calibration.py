"""The anomaly model's threshold, set on good images held out from training: each term's median and its
quantile at the target false-reject rate, then the combined score's quantile at that rate (score 0.5)."""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from inspection.detectors.anomaly_backend import Calibration, TermScale
from inspection.detectors.image_statistics import GoodStatistics
from inspection.ml.anomaly.good_images import read_all
from inspection.ml.anomaly.memory import FloatArray
from inspection.ml.anomaly.network import score_maps
from inspection.ml.evaluation.anomaly_metrics import quantiles, score_histogram

if TYPE_CHECKING:
    from inspection.ml.anomaly.training import AnomalySettings, Reporter

PARITY_IMAGES = 16  # held-out images the ONNX file is checked on

HOW = (
    "each term (patch map peak, image statistics distance) scaled so that its median on the held-out good "
    "images is 0 and its bound at the target false-reject rate is 1; the part's value is the larger; the "
    "threshold is that value's bound at the target rate on the same images, and scores are scaled so that it "
    "is 0.5. A bound: the larger of the empirical quantile (the next value up) and mean + z * standard "
    "deviation (z of the normal distribution at the rate), which guards a threshold set on few images"
)


def upper_bound(values: FloatArray, rate: float) -> float:
    """The value good parts exceed at about ``rate``: see ``HOW``."""
    empirical = float(np.quantile(values, 1.0 - rate, method="higher"))
    normal = float(values.mean() + NormalDist().inv_cdf(1.0 - rate) * values.std())
    return max(empirical, normal)


def held_out_terms(
    scorer: Any, statistics: GoodStatistics, paths: list[Path], settings: AnomalySettings, report: Reporter
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The raw patch peaks and image distances of the held-out images (made from each part as the run's feature
    version says), and the network inputs of the first ``PARITY_IMAGES``."""
    features, imgsz = settings.inputs, settings.imgsz
    inputs: list[FloatArray] = []
    peaks: list[float] = []
    distances: list[float] = []
    for start in range(0, len(paths), 16):
        images = read_all(paths[start : start + 16])
        batch = np.concatenate([features.network_input(image, imgsz) for image in images])
        peaks += list(score_maps(scorer, batch).reshape(len(images), -1).max(axis=1))
        distances += [statistics.distance(features.statistics(image)) for image in images]
        kept = sum(len(b) for b in inputs)
        inputs.append(batch[: max(0, PARITY_IMAGES - kept)])
        report("threshold", min(start + 16, len(paths)), len(paths))
    return np.asarray(peaks, np.float32), np.asarray(distances, np.float32), np.concatenate(inputs)


def calibrate(
    scorer: Any, statistics: GoodStatistics, paths: list[Path], settings: AnomalySettings, report: Reporter
) -> tuple[dict[str, Any], FloatArray]:
    """The card's ``anomaly`` section (calibration, good-score distribution, how it was set), and the held-out
    images' network inputs (for the export's parity check)."""
    peaks, distances, inputs = held_out_terms(scorer, statistics, paths, settings, report)
    rate = settings.target_false_reject
    patches = TermScale(float(np.median(peaks)), upper_bound(peaks, rate))
    image = TermScale(float(np.median(distances)), upper_bound(distances, rate))
    combined_terms = np.maximum(patches.scaled(peaks), image.scaled(distances))
    calibration = Calibration(patches, image, upper_bound(combined_terms, rate))
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
    return section, inputs
