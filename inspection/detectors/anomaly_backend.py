"""The anomaly detector: trained from good parts alone (``inspection train --task anomaly``), it scores how
unlike the good parts a part is, needing no reference image and no alignment.

Terms, each measured against good parts held out from training; the card's calibration names those scored:
- **patches**: a network (any backend: the ONNX file it is trained as, or its OpenVINO export) maps the
  part to the distance of each patch's features to the nearest patch of the good parts' memory: a map;
- **image**: statistics of the whole part against the good parts' (``image_statistics``);
- **defects** (models trained since 2026-12-07): how far those statistics lie in the direction made-up
  defects move them (``ml/anomaly/made_up.py``); with **image** it makes **part**, their scaled sum, scaled
  again: the whole-part term of such a model, which scores the patch term only where made-up defects on
  its held-out good parts said it helps;
- **patch_defects** (models trained since 2026-12-07, where made-up defects said it helps): the network's second
  map, a head's logits of where a made-up defect would be (``ml/anomaly/patch_defects.py``; the network averages
  them over turns of the part, and leaves its first map all 0 where the patch term is not scored); its peak joins
  the **part** sum, and its map places the boxes of a part that fails as a whole (``whole_part_boxes``);
- **positions** (models trained since 2026-12-08 on parts found aligned, instead of **patches**): the network's last
  map, each patch's distance to the nearest good patch at the same position (``ml/anomaly/positions.py``); its
  peak and **part**, scaled and summed, make **whole**, scaled again: the whole-part term of such a model; its map
  places the boxes of a part that fails as a whole. The card names the network's maps (``anomaly: channels``);
- **patterns**, for two-level parts (binarised scans) instead of the two above: the rarity of each small
  black-and-white neighbourhood among the good parts' (``anomaly_patterns``): a map.

Each term is scaled so its held-out good median is 0 and its threshold 1; the part's score is the larger,
scaled so that the model card's threshold is **0.5** (the JSON ``score``). Regions of the map above
the floor become ``anomaly`` detections with boxes (their peak score as confidence), so a recipe's rules,
areas and counts apply; a part whose image term is the larger gets one box over the whole part (or, with the
patch defects, boxes where their map is high, at the part's score). The
recipe's ``min_confidence`` for ``anomaly`` (default 0.5) is the threshold, so a recipe may move it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inspection.core.errors import ModelError
from inspection.core.hashing import file_sha256
from inspection.core.types import Detection, Image
from inspection.detectors.anomaly_features import AnomalyFeatures
from inspection.detectors.anomaly_patterns import PATTERNS_FILE, PatternCounts, PatternTable, pooled
from inspection.detectors.base import Detector, ModelInfo, Prediction
from inspection.detectors.card import ModelCard, listed_file
from inspection.detectors.formats import format_of
from inspection.detectors.image_statistics import GoodStatistics
from inspection.detectors.loading import DetectorType, LoadRequest
from inspection.detectors.network import Network
from inspection.detectors.processing import FloatArray

TASK = "anomaly"
LABEL = "anomaly"
STATISTICS_FILE = "image_statistics.npz"
MAP_STRIDE = 8  # the score map's cell, in network-input pixels
REGION_LEVEL_MIN = 0.25  # regions are cut at the floor, but never below this score (one blob otherwise)


@dataclass(frozen=True)
class TermScale:
    """One term's held-out good median and its threshold (the quantile at the target false-reject rate)."""

    median: float
    threshold: float

    def scaled(self, raw: FloatArray | float) -> Any:
        return (np.asarray(raw, np.float32) - self.median) / max(self.threshold - self.median, 1e-6)


TERMS = ("patches", "image", "defects", "patch_defects", "positions", "part", "whole", "patterns")  # may be scored
PART_SUMMANDS = ("image", "defects", "patch_defects")  # summed into ``part`` where scored
WHOLE_PART_MAPS = ("patch_defects", "positions")  # maps whose peak is summed; where they are high, the boxes
CHANNELS_BEFORE = ("patches", "patch_defects")  # the network's maps of a card that does not name them


@dataclass(frozen=True)
class Calibration:
    """How raw values become the score: each term the model scores, scaled, then the combined threshold
    ``combined`` (score 0.5). Parts that are not two-level: ``image`` (with ``defects``, summed into ``part``)
    and, unless made-up defects said it does not help, ``patches``; two-level parts: ``patterns`` alone
    (``anomaly_patterns``)."""

    terms: dict[str, TermScale]
    combined: float

    @classmethod
    def from_dict(cls, calibration: dict[str, Any]) -> Calibration:
        terms = {
            name: TermScale(float(calibration[name]["median"]), float(calibration[name]["threshold"]))
            for name in TERMS
            if name in calibration
        }
        if not terms:
            raise KeyError("no term")
        return cls(terms, float(calibration["combined_threshold"]))

    @classmethod
    def from_card(cls, card: ModelCard, where: Path) -> Calibration:
        section = (card.model_extra or {}).get("anomaly")
        try:
            assert isinstance(section, dict)
            return cls.from_dict(section["calibration"])
        except (AssertionError, KeyError, TypeError, ValueError):
            raise ModelError(
                f"{where}: the model card has no valid 'anomaly: calibration:' section; register the run again "
                "with 'inspection models register'"
            ) from None

    def whole_part(self, scaled: dict[str, Any]) -> Any:
        """The whole-part term from the scaled terms (one part's or many's; ``patch_defects``, ``positions``: the
        map's peak): ``part`` (image + defects, and patch defects where the card scores them, scaled again) where the
        card has it, and for aligned parts ``whole`` (part + positions, scaled again); else ``image``; None for a model
        without one (two-level parts)."""
        if "part" in self.terms:
            summands = [name for name in PART_SUMMANDS if name in self.terms]
            part = self.terms["part"].scaled(sum(scaled[name] for name in summands))
            return self.terms["whole"].scaled(part + scaled["positions"]) if "whole" in self.terms else part
        return scaled.get("image")

    def score(self, terms: FloatArray | float) -> Any:
        """Combined-scale values (``max`` of the scaled terms) as scores: threshold 0.5, never below 0."""
        return np.maximum(0.5 * np.asarray(terms, np.float32) / max(self.combined, 1e-6), 0.0)

    def as_dict(self) -> dict[str, Any]:
        terms = {name: {"median": t.median, "threshold": t.threshold} for name, t in self.terms.items()}
        return {**terms, "combined_threshold": self.combined}


def anomaly_regions(score_map: FloatArray, width: int, height: int, floor: float) -> list[Detection]:
    """Connected regions of the score map (scaled to the image) at ``floor`` (at least REGION_LEVEL_MIN),
    each with the highest map cell under it as confidence (at most 1). The map's peak always has its region,
    so a part fails by its boxes exactly when its patch score reaches the threshold (scaling the map
    smooths peaks a little)."""
    level = max(floor, REGION_LEVEL_MIN)
    full = cv2.resize(score_map, (width, height), interpolation=cv2.INTER_LINEAR)
    count, _, stats, _ = cv2.connectedComponentsWithStats((full >= level).astype(np.uint8), connectivity=8)
    cell_h, cell_w = height / score_map.shape[0], width / score_map.shape[1]

    def cells(x1: float, y1: float, x2: float, y2: float) -> float:
        rows = slice(int(y1 // cell_h), max(int(np.ceil(y2 / cell_h)), int(y1 // cell_h) + 1))
        cols = slice(int(x1 // cell_w), max(int(np.ceil(x2 / cell_w)), int(x1 // cell_w) + 1))
        return float(score_map[rows, cols].max())

    boxes = [tuple(float(v) for v in (x, y, x + w, y + h)) for x, y, w, h, _ in stats[1:count]]
    peak_row, peak_col = np.unravel_index(int(score_map.argmax()), score_map.shape)
    peak_box = (peak_col * cell_w, peak_row * cell_h, (peak_col + 1) * cell_w, (peak_row + 1) * cell_h)
    found = [Detection(LABEL, 0, min(cells(*box), 1.0), box) for box in boxes]  # type: ignore[arg-type]
    if score_map.max() >= floor and not any(d.confidence >= min(float(score_map.max()), 1.0) for d in found):
        found.append(Detection(LABEL, 0, min(float(score_map.max()), 1.0), peak_box))
    return sorted((d for d in found if d.confidence >= floor), key=lambda d: d.confidence, reverse=True)


def whole_part_boxes(score: float, where: FloatArray | None, width: int, height: int) -> list[Detection]:
    """The boxes of a part that fails as a whole (its whole-part term at ``score``): one over the whole part or,
    with the patch defects' map (0.5 at that term's own threshold), its regions, each at the part's score: the
    score says how wrong the part is, the map where."""
    confidence = min(score, 1.0)
    if where is None or float(where.max()) < REGION_LEVEL_MIN:
        return [Detection(LABEL, 0, confidence, (0.0, 0.0, float(width), float(height)))]
    regions = anomaly_regions(where, width, height, REGION_LEVEL_MIN)
    return [Detection(LABEL, 0, confidence, region.box) for region in regions]


class AnomalyDetector(Detector):
    def __init__(
        self, network: Network, info: ModelInfo, calibration: Calibration, good: GoodStatistics,
        features: AnomalyFeatures, patterns: PatternTable | None = None, channels: tuple[str, ...] = CHANNELS_BEFORE,
    ) -> None:  # fmt: skip
        self.network = network
        self.channels = channels  # the names of the network's maps, in order
        self.info = info
        self.calibration = calibration
        self.good = good
        self.features = features
        self.patterns = patterns
        if "patterns" in calibration.terms and patterns is None:
            raise ModelError(f"{info.path}: the card scores the pattern term, but no {PATTERNS_FILE} came with it")

    def predict(self, image: Image, min_confidence: float) -> Prediction:
        started = time.perf_counter()
        score, score_map, detections = self.assess(image, min_confidence)
        elapsed = (time.perf_counter() - started) * 1000
        return Prediction(detections, None, elapsed, score=score, score_map=score_map)

    def term_maps(self, image: Image, grid: int) -> tuple[dict[str, FloatArray], bool]:
        """The raw value of each term the card scores: maps on the network's ``grid`` (``patches``, ``patterns``:
        their peak is the term) or one value (``image``, ``defects``); and whether the part is plausible as a whole (the
        pattern term: an empty frame, far fewer or more edges than any good part, is not)."""
        terms = self.calibration.terms
        raw: dict[str, FloatArray] = {}
        plausible = True
        if any(name in terms for name in self.channels):
            maps = self.network.forward(self.features.network_input(image, self.info.imgsz))[0]
            raw |= {name: maps[channel] for channel, name in enumerate(self.channels) if name in terms}
        if "image" in terms:
            statistics = self.features.statistics(image)
            raw["image"] = np.float32(self.good.distance(statistics))  # type: ignore[assignment]
            if "defects" in terms:
                raw["defects"] = np.float32(self.good.defect_logit(statistics))  # type: ignore[assignment]
        if self.patterns is not None and "patterns" in terms:
            rarity, plausible = self.patterns.assess(image)
            raw["patterns"] = pooled(rarity, grid, grid)
        return raw, plausible

    def assess(self, image: Image, floor: float) -> tuple[float, FloatArray, list[Detection]]:
        """The part's score, its score map (network resolution) and its detections down to ``floor``; a part
        not plausible as a whole scores 1.0 with one box over it."""
        grid = self.info.imgsz // MAP_STRIDE
        raw, plausible = self.term_maps(image, grid)
        scaled = {name: self.calibration.terms[name].scaled(value) for name, value in raw.items()}
        summed = {name: scaled.pop(name) for name in WHOLE_PART_MAPS if name in scaled}  # maps; their peaks are summed
        where = np.maximum.reduce(list(summed.values())) if summed else None
        maps = [scaled[name] for name in ("patches", "patterns") if name in scaled]
        combined_map = np.maximum.reduce(maps) if maps else np.full((grid, grid), -np.inf, np.float32)
        score_map = np.asarray(self.calibration.score(combined_map), np.float32)
        whole = self.calibration.whole_part({**scaled, **{name: value.max() for name, value in summed.items()}})
        image_score = float(self.calibration.score(whole)) if whole is not None else 0.0
        image_score = image_score if plausible else 1.0
        patch_score = float(score_map.max())
        height, width = image.shape[:2]
        detections = anomaly_regions(score_map, width, height, floor)
        located = None if where is None else np.asarray(np.maximum(0.5 * where, 0.0), np.float32)
        if image_score > patch_score and image_score >= floor:
            detections[:0] = whole_part_boxes(image_score, located, width, height)
        shown = score_map if located is None or maps else located  # the map drawn over the part
        return max(patch_score, image_score), shown, detections

    def predict_prepared(self, image: Image, min_confidence: float) -> list[Detection]:
        return self.assess(image, min_confidence)[2]

    def _detect(self, image: Image, min_confidence: float) -> tuple[list[Detection], str | None]:
        return self.predict_prepared(image, min_confidence), None

    def warm_up(self) -> None:
        blank = np.full((self.info.imgsz, self.info.imgsz, 3), 128, np.uint8)
        for _ in range(2):
            self.assess(blank, 1.0)

    def close(self) -> None:
        self.network.close()


def card_features(card: ModelCard) -> AnomalyFeatures:
    """The feature version the model was trained with (a card from before versions: 1)."""
    section = (card.model_extra or {}).get("anomaly")
    version = section.get("features", 1) if isinstance(section, dict) else 1
    return AnomalyFeatures(int(version))


def card_channels(card: ModelCard) -> tuple[str, ...]:
    """The names of the network's maps, in order (a card from before they were named: ``CHANNELS_BEFORE``)."""
    section = (card.model_extra or {}).get("anomaly")
    named = section.get("channels") if isinstance(section, dict) else None
    return tuple(str(name) for name in named) if isinstance(named, list) else CHANNELS_BEFORE


def read_good_statistics(folder: Path, card: ModelCard, features: AnomalyFeatures) -> GoodStatistics:
    """The good parts' image statistics of a registry folder, checked against its card and feature version."""
    path = listed_file(folder, card, STATISTICS_FILE, "an anomaly model")
    good = GoodStatistics.load(path)
    expected = len(features.statistics(np.zeros((32, 32), np.uint8)))
    if good.mean.shape != (expected,):
        raise ModelError(
            f"{path}: {good.mean.size} image statistics, but feature version {features.version} has {expected}; "
            "the file does not belong to this card: register the run again"
        )
    return good


def load_anomaly_detector(request: LoadRequest) -> AnomalyDetector:
    card, folder, fmt = request.card, request.card_folder, format_of(request.path)
    assert card is not None and folder is not None  # claimed by its card
    if fmt is None or fmt.name == "pt":
        raise ModelError(f"{request.path}: an anomaly model runs from its ONNX file or an OpenVINO export")
    network = fmt.load(request.path, card.input.imgsz, request.device, request.threads, "anomaly", request.parallel)
    info = ModelInfo(
        network.info.name, request.path, file_sha256(request.path), list(card.classes), network.info.backend,
        network.info.device, card.input.imgsz, request.threads, "image", network.info.precision,
    )  # fmt: skip
    features = card_features(card)
    good = read_good_statistics(folder, card, features)
    calibration = Calibration.from_card(card, folder)
    patterns = None
    if "patterns" in calibration.terms:
        patterns = PatternTable(PatternCounts.load(listed_file(folder, card, PATTERNS_FILE, "an anomaly model")))
    return AnomalyDetector(network, info, calibration, good, features, patterns, card_channels(card))


ANOMALY = DetectorType(
    "anomaly",
    claims=lambda request: request.card is not None and request.card.task == TASK,
    load=load_anomaly_detector,
    describe="a registered anomaly model (card task: anomaly)",
)
