"""One part: the detector's prediction, the recipe's verdict, and the record of both. Used by the station
and by the batch commands (inspect, compare), so a part gets the same verdict everywhere."""

from __future__ import annotations

import time

from inspection.config import Recipe
from inspection.core.types import Decision, Frame, Image, InspectionRecord, Verdict
from inspection.detectors import Detector
from inspection.detectors.base import Prediction
from inspection.quality.rules import decide


def recipe_floor(recipe: Recipe) -> float:
    """The lowest confidence any rule looks at: the detector need not report less."""
    rules = [recipe.default_rule, *recipe.rules.values()]
    return min(rule.min_confidence for rule in rules)


def decide_part(prediction: Prediction, recipe: Recipe, mm_per_px: float | None = None) -> Decision:
    """The recipe's verdict; a part that does not align with its reference image is a reject with that
    reason, not a fault, so the station and the batch commands go on."""
    if prediction.mismatch is not None:
        return Decision(Verdict.FAIL, (prediction.mismatch,), ())
    return decide(prediction.detections, recipe, mm_per_px)


def detect_and_decide(
    detector: Detector, image: Image, recipe: Recipe, mm_per_px: float | None = None
) -> tuple[Prediction, Decision]:
    """The prediction on one image (down to the recipe's lowest threshold) and the recipe's verdict."""
    prediction = detector.predict(image, recipe_floor(recipe))
    return prediction, decide_part(prediction, recipe, mm_per_px)


def cycle_ms(frame: Frame) -> float:
    """From the part's trigger (its grab included) to now."""
    return (time.time() - frame.timestamp) * 1000 + frame.grab_ms


def inspect_frame(
    frame: Frame,
    detector: Detector,
    recipe: Recipe,
    station: str,
    floor: float,
    mm_per_px: float | None = None,
    recipe_sha256: str | None = None,
) -> InspectionRecord:
    """The record of one grabbed part; ``floor``: the lowest confidence recorded (near misses included);
    ``recipe_sha256``: the effective recipe's hash, recorded with it."""
    prediction = detector.predict(frame.image, floor)
    detected = time.perf_counter()
    decision = decide_part(prediction, recipe, mm_per_px)
    latencies = {
        "grab": frame.grab_ms,
        "detect": prediction.elapsed_ms,
        "decide": (time.perf_counter() - detected) * 1000,
        "cycle": cycle_ms(frame),
    }
    return InspectionRecord(
        id=InspectionRecord.new_id(),
        timestamp=frame.timestamp,
        station=station,
        camera=frame.camera,
        recipe_name=recipe.name,
        recipe_version=recipe.version,
        model_name=detector.info.name,
        model_sha256=detector.info.sha256,
        verdict=decision.verdict,
        reasons=decision.reasons,
        detections=tuple(prediction.detections),
        kept=decision.kept,
        latencies_ms=latencies,
        part_serial=frame.part_serial,
        lot=frame.lot,
        source_name=frame.source_name,
        reference_name=prediction.reference,
        mm_per_px=mm_per_px,
        recipe_sha256=recipe_sha256,
        anomaly_score=prediction.score,
        anomaly_map=prediction.score_map,
    )
