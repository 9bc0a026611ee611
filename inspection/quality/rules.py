"""Turn detections into a verdict with the active recipe's rules."""

from __future__ import annotations

from collections import Counter

from inspection.config import Box, ClassRule, Recipe
from inspection.core.errors import ConfigError
from inspection.core.sizes import size_mm
from inspection.core.types import Decision, Detection, Verdict


def _centre_inside(detection: Detection, region: Box) -> bool:
    x1, y1, x2, y2 = detection.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def _size_allowed(detection: Detection, rule: ClassRule, mm_per_px: float) -> bool:
    longest, area = size_mm(detection, mm_per_px)
    if longest < rule.min_size_mm or area < rule.min_area_mm2:
        return False
    if rule.max_size_mm is not None and longest > rule.max_size_mm:
        return False
    return rule.max_area_mm2 is None or area <= rule.max_area_mm2


def require_scale(recipe: Recipe, mm_per_px: float | None) -> None:
    """A clear error when the recipe's rules limit sizes in mm and there is no scale to measure them."""
    if mm_per_px is None and recipe.uses_mm():
        raise ConfigError(
            f"recipe {recipe.name}: its rules limit sizes in mm, but there is no scale; set "
            "measurement.mm_per_px in the station (inspection calibrate scale), or remove the mm limits"
        )


def counts(detection: Detection, recipe: Recipe, mm_per_px: float | None = None) -> bool:
    """Whether a detection counts towards the verdict under the recipe's filters."""
    rule = recipe.rule_for(detection.label)
    if detection.confidence < rule.min_confidence or detection.area < rule.min_area_px:
        return False
    if rule.uses_mm():
        require_scale(recipe, mm_per_px)
        assert mm_per_px is not None
        if not _size_allowed(detection, rule, mm_per_px):
            return False
    if recipe.roi is not None and not _centre_inside(detection, recipe.roi):
        return False
    return not any(_centre_inside(detection, region) for region in recipe.ignore)


def decide(detections: list[Detection], recipe: Recipe, mm_per_px: float | None = None) -> Decision:
    """PASS unless some class has more kept detections than its rule allows.

    Each reason reads like "2 x short >= 0.50" (count, class, the confidence that made them count).
    ``mm_per_px``: the scale, needed by rules that limit sizes in millimetres.
    """
    kept = tuple(d for d in detections if counts(d, recipe, mm_per_px))
    per_class = Counter(d.label for d in kept)
    reasons = []
    for label in recipe.classes:
        number = per_class.get(label, 0)
        rule = recipe.rule_for(label)
        if number > rule.max_count:
            reason = f"{number} x {label} >= {rule.min_confidence:.2f}"
            if rule.max_count:
                reason += f" (max {rule.max_count})"
            reasons.append(reason)
    verdict = Verdict.FAIL if reasons else Verdict.PASS
    return Decision(verdict, tuple(reasons), kept)
