"""The anomaly model's threshold, set on good images held out from training: each term's median and its
quantile at the target false-reject rate, then the combined score's quantile at that rate (score 0.5).
Two-level parts are scored by the pattern term alone. Others by the whole-part term (the image statistics'
nearest-good distance and, where training fitted it, their made-up defects' direction, summed: ``part``; the
patch defects' peak joins the sum where made-up defects of each kind are found better with it by a head that never
saw that kind: ``patch_defects.py``) and the patch term, unless made-up defects on copies of the held-out parts
are found no better with it (``made_up.py``). Aligned parts (``positions.py``): ``part`` and the per-position
patch term's peak summed (``whole``), instead of the position-free patch term."""

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
from inspection.ml.anomaly.made_up import drawn_copies
from inspection.ml.anomaly.memory import FloatArray
from inspection.ml.anomaly.network import each_scored
from inspection.ml.anomaly.patch_defects import PatchDefectHeads
from inspection.ml.anomaly.positions import RATIO, alignment, position_ratio
from inspection.ml.evaluation.anomaly_metrics import auroc, quantiles, score_histogram

if TYPE_CHECKING:
    from inspection.ml.anomaly.training import AnomalySettings, Reporter

PARITY_IMAGES = 16  # held-out images the ONNX file is checked on
TRIAL_COPIES = 4  # made-up defects on each held-out part, to choose whether the patch term is scored
UNSEEN = "unseen-"  # + a kind of made-up defect: the patch defects' peak by the head that never saw that kind


@dataclass(frozen=True)
class TermSources:
    """What the terms are measured against: the good parts' statistics, and their patterns (two-level parts)."""

    statistics: GoodStatistics
    patterns: PatternTable | None
    heads: PatchDefectHeads | None = None  # the patch defects' (``patch_defects.py``)


HOW = (
    "each term the model scores (patch map peak, image statistics distance and defect logit, patch defects' peak; "
    "for two-level parts the pattern rarity peak alone) scaled so that its median on the held-out good images is 0 "
    "and its bound at the target false-reject rate is 1; the statistics' two terms (and the patch defects' peak, "
    "where made-up defects of each kind on copies of the held-out images were found at least as well with it by a "
    "head that never saw that kind) summed and scaled again the same way (the whole-part term); for aligned parts "
    "(their held-out patches nearer the good patches at their own position than at another) that term and the peak "
    "of the per-position patch map, summed and scaled again (whole), and no position-free patch term; the part's "
    "value is the larger of the whole-part term and the patch term (where made-up defects on copies of the "
    "held-out images were found at least as well with it); the threshold is that value's bound at the "
    "target rate on the same images, and scores are scaled so that it is 0.5. A bound: the larger of the "
    "empirical quantile (the next value up) and mean + z * standard deviation (z of the normal distribution at "
    "the rate), which guards a threshold set on few images"
)


def upper_bound(values: FloatArray, rate: float) -> float:
    """The value good parts exceed at about ``rate``: see ``HOW``."""
    empirical = float(np.quantile(values, 1.0 - rate, method="higher"))
    normal = float(values.mean() + NormalDist().inv_cdf(1.0 - rate) * values.std())
    return max(empirical, normal)


def _terms_of(
    scorer: Any, terms: TermSources, images: list[Any], settings: AnomalySettings
) -> tuple[dict[str, list[float]], FloatArray]:
    """The raw term values of some parts: the patch map's peak; the image statistics' distance and defect logit
    or, for two-level parts, the pattern map's peak; and the parts' network inputs."""
    features, imgsz = settings.inputs, settings.imgsz
    grid = imgsz // MAP_STRIDE
    batch = np.concatenate([features.network_input(image, imgsz) for image in images])
    maps, found = _network_maps(scorer, terms.heads, batch)
    peaks = maps.reshape(*maps.shape[:2], -1).max(axis=2)  # each channel's (``network.scorer_channels``)
    raw: dict[str, list[float]] = {name: list(peaks[:, channel]) for channel, name in enumerate(scorer.channels)}
    raw |= found  # the peaks of the heads that never saw a kind; the per-position memory's ratios (alignment)
    if terms.patterns is not None:
        raw["patterns"] = [float(pooled(terms.patterns.rarity_map(image), grid, grid).max()) for image in images]
        return raw, batch
    statistics = [features.statistics(image) for image in images]
    raw["image"] = [terms.statistics.distance(vector) for vector in statistics]
    if terms.statistics.defect_weights is not None:
        raw["defects"] = [terms.statistics.defect_logit(vector) for vector in statistics]
    return raw, batch


def _network_maps(
    scorer: Any, heads: PatchDefectHeads | None, batch: FloatArray
) -> tuple[FloatArray, dict[str, list[float]]]:
    """The scorer's maps of each part (``network.each_scored``); with the patch defects' ``heads``, the peak of
    each unseen kind's head; with the per-position memory, each part's ``position_ratio``: the trunk runs once."""
    maps: list[FloatArray] = []
    found: dict[str, list[float]] = {}
    at_positions = scorer.channels.index("positions") if "positions" in scorer.channels else None
    for index, (part_maps, features) in enumerate(each_scored(scorer, batch)):
        maps.append(part_maps)
        for kind, peak in ({} if heads is None else heads.unseen_peaks(features)).items():
            found.setdefault(f"{UNSEEN}{kind}", []).append(float(peak[0]))
        if at_positions is not None:
            ratio = position_ratio(features[:1], part_maps[0, at_positions], scorer.positions, index)
            found.setdefault(RATIO, []).append(ratio)
    return np.concatenate(maps).astype(np.float32), found


def held_out_terms(
    scorer: Any, terms: TermSources, paths: list[Path], settings: AnomalySettings, report: Reporter
) -> tuple[dict[str, FloatArray], dict[str, dict[str, FloatArray]], FloatArray]:
    """The raw term values of the held-out images; those of their plain copies and of the copies with made-up
    defects (where training fitted the defects' direction); the network inputs of the first ``PARITY_IMAGES``."""
    trial = terms.patterns is None and terms.statistics.defect_weights is not None
    found: dict[str, dict[str, list[float]]] = {"held": {}, "plain": {}, "made_up": {}}
    inputs: list[FloatArray] = []
    for start in range(0, len(paths), 16):
        images = read_all(paths[start : start + 16])
        batches = {"held": images}
        if trial:
            batches["plain"], batches["made_up"], kinds = drawn_copies(
                images, settings.seed + 10_000 + start, TRIAL_COPIES
            )  # type: ignore[assignment]
            found["made_up"].setdefault("kind", []).extend(kinds)
        for name, parts in batches.items():
            raw, batch = _terms_of(scorer, terms, parts, settings)
            for term, values in raw.items():
                found[name].setdefault(term, []).extend(values)
            if name == "held":
                inputs.append(batch[: max(0, PARITY_IMAGES - sum(len(b) for b in inputs))])
        report("threshold", min(start + 16, len(paths)), len(paths))
    arrays = {name: {term: np.asarray(v, np.float32) for term, v in values.items()} for name, values in found.items()}
    return arrays["held"], {k: v for k, v in arrays.items() if k != "held" and v}, np.concatenate(inputs)


def term_scale(values: FloatArray, rate: float) -> TermScale:
    return TermScale(float(np.median(values)), upper_bound(values, rate))


def combined_values(calibration: Calibration, raw: dict[str, FloatArray]) -> FloatArray:
    """The value the combined threshold applies to, of each part: the larger of its scaled terms."""
    scaled = {name: calibration.terms[name].scaled(raw[name]) for name in calibration.terms if name in raw}
    values = [scaled[name] for name in ("patches", "patterns") if name in scaled]
    whole = calibration.whole_part(scaled)
    return np.maximum.reduce(values if whole is None else [*values, whole])  # type: ignore[no-any-return]


def _whole_part_scales(
    raw: dict[str, FloatArray], rate: float, patch_defects: bool = False, positions: bool = False
) -> dict[str, TermScale]:
    """The whole-part term's scales: image and defects summed into part; with ``patch_defects``, its peak too; with
    ``positions`` (aligned parts), part and the per-position memory's peak summed into whole, each weighing alike."""
    summands = ("image", "defects") + ("patch_defects",) * patch_defects
    scales: dict[str, TermScale] = {name: term_scale(raw[name], rate) for name in summands if name in raw}
    if "defects" in scales:
        summed = sum(scales[name].scaled(raw[name]) for name in summands)
        scales["part"] = term_scale(summed, rate)
        if positions:
            scales["positions"] = term_scale(raw["positions"], rate)
            part = scales["part"].scaled(summed)
            scales["whole"] = term_scale(part + scales["positions"].scaled(raw["positions"]), rate)
    return scales


def patch_defects_choice(
    raw: dict[str, FloatArray], rate: float, trial: dict[str, dict[str, FloatArray]], positions: bool = False
) -> dict[str, Any]:
    """Whether the patch defects' peak joins the whole-part term: the made-up defects on copies of the held-out
    parts against the plain copies, image AUROC by the whole-part term without and with it, each kind of defect
    judged by the head that never saw that kind (the one kept saw them all: it would find them by rote), the mean
    over the kinds; a tie keeps it (its map says where a part is wrong)."""
    kinds = trial["made_up"]["kind"]
    found: dict[str, list[float]] = {"without_patch_defects": [], "with_patch_defects": []}
    for kind in sorted({int(k) for k in kinds}):
        unseen, chosen = f"{UNSEEN}{kind}", kinds == kind
        held = {**raw, "patch_defects": raw[unseen]}
        plain = {**trial["plain"], "patch_defects": trial["plain"][unseen]}
        made_up = {term: values[chosen] for term, values in trial["made_up"].items()}
        made_up["patch_defects"] = made_up[unseen]
        for name, joined in (("without_patch_defects", False), ("with_patch_defects", True)):
            model = Calibration(_whole_part_scales(held, rate, joined, positions), 1.0)
            found[name].append(auroc(list(combined_values(model, plain)), list(combined_values(model, made_up))) or 0.0)
    means = {name: round(float(np.mean(values)), 4) for name, values in found.items()}
    return {**means, "patch_defects_scored": means["with_patch_defects"] >= means["without_patch_defects"]}


def patch_choice(
    scales: dict[str, TermScale], patches: TermScale, trial: dict[str, dict[str, FloatArray]]
) -> dict[str, Any] | None:
    """Whether the patch term joins the whole-part term: the made-up defects on copies of the held-out parts
    against the plain copies, image AUROC without and with it (a tie keeps it: its map gives boxes)."""
    if not trial:
        return None
    without, with_patches = Calibration(scales, 1.0), Calibration({**scales, "patches": patches}, 1.0)
    found = {
        name: auroc(list(combined_values(model, trial["plain"])), list(combined_values(model, trial["made_up"])))
        for name, model in (("without_patches", without), ("with_patches", with_patches))
    }
    return {**found, "patches_scored": bool((found["with_patches"] or 0.0) >= (found["without_patches"] or 0.0))}


def calibrate(
    scorer: Any, terms: TermSources, paths: list[Path], settings: AnomalySettings, report: Reporter
) -> tuple[dict[str, Any], FloatArray, dict[str, TermScale]]:
    """The card's ``anomaly`` section (calibration, good-score distribution, how it was set), the held-out
    images' network inputs and the scale of each of the network's maps (for the export's parity check)."""
    raw, trial, inputs = held_out_terms(scorer, terms, paths, settings, report)
    rate = settings.target_false_reject
    patches = term_scale(raw["patches"], rate)
    choice = aligned = None
    if terms.patterns is not None:
        scales = {"patterns": term_scale(raw["patterns"], rate)}
    else:
        aligned = alignment(raw.pop(RATIO), scorer.positions) if RATIO in raw else None
        positions = aligned is not None and bool(aligned["aligned"]) and "defects" in raw
        joined = None
        if terms.heads is not None and "defects" in raw and trial:
            joined = patch_defects_choice(raw, rate, trial, positions)
        scales = _whole_part_scales(raw, rate, joined is not None and joined["patch_defects_scored"], positions)
        choice = None if positions else patch_choice(scales, patches, trial)  # per position: no position-free term
        if not positions and (choice is None or choice["patches_scored"]):
            scales["patches"] = patches
        if joined is not None:
            choice = {**joined, **(choice or {})}
    combined_terms = combined_values(Calibration(scales, 1.0), raw)
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
    if choice is not None:
        section["made_up_defects_on_held_out"] = choice
    if aligned is not None:
        section["alignment"] = aligned
    channels = {name: scales.get(name) or term_scale(raw[name], rate) for name in scorer.channels}
    return section, inputs, channels
