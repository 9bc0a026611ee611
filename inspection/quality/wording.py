"""A verdict's reasons in words for the people at the cell: "open defect, 1.2 mm" rather than the rule
that fired ("1 x open >= 0.50", which the record keeps and the screen shows on demand)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from inspection.config import Recipe
from inspection.core.types import Detection


def longest_side(detection: Detection, mm_per_px: float | None) -> str:
    """The longest side of a detection's box: ``1.2 mm`` with a scale, ``34 px`` without."""
    x1, y1, x2, y2 = detection.box
    longest = max(x2 - x1, y2 - y1)
    return f"{longest * mm_per_px:.1f} mm" if mm_per_px is not None else f"{longest:.0f} px"


def in_words(kept: Sequence[Detection], recipe: Recipe, mm_per_px: float | None) -> list[str]:
    """One phrase per class that failed the part, the class with the most defects first:
    ``open defect, 1.2 mm`` or ``3 short defects, largest 0.8 mm``. Classes within their allowed count
    are left out; when the rules changed since (none fails now), every counted class is named."""
    by_class: dict[str, list[Detection]] = defaultdict(list)
    for detection in kept:
        by_class[detection.label].append(detection)
    failing = {label: found for label, found in by_class.items() if len(found) > recipe.rule_for(label).max_count}
    chosen = failing or by_class
    ordered = sorted(chosen.items(), key=lambda item: (-len(item[1]), item[0]))
    return [_phrase(label, found, mm_per_px) for label, found in ordered]


def _phrase(label: str, found: list[Detection], mm_per_px: float | None) -> str:
    name = label.replace("_", " ")
    largest = longest_side(max(found, key=lambda d: d.area), mm_per_px)
    if len(found) == 1:
        return f"{name} defect, {largest}"
    return f"{len(found)} {name} defects, largest {largest}"
