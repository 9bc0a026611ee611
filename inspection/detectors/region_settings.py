"""How a region classifier turns regions into detections (``regions.yaml`` of its registry folder, hashed in
its card): how much the template detector's geometric naming counts, and how each class's box is drawn.

A region's box is where the part differs from its good state (plus a margin); a labeller draws a defect's
box around what makes it one: an open's box spans the conductor it cuts, not only the missing copper.
``box_corrections`` move each side of a detection's box by ``slope * size + offset`` (size: the box's width
for the left and right sides, its height for the top and bottom), learnt per class from the training
split's regions and the labelled boxes they were matched to (least squares on each side). A class without
an entry keeps the region's box; a classifier registered before either setting existed keeps both off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from inspection.core.boxes import Box
from inspection.core.errors import ModelError
from inspection.core.hashing import file_sha256
from inspection.detectors.card import ModelCard
from inspection.detectors.region_crop import REGION_SETTINGS_FILE

DEFAULT_GEOMETRY_WEIGHT = 0.5
MIN_PAIRS = 20  # a class with fewer matched regions in the training split keeps its region boxes
SIDES = ("x1", "y1", "x2", "y2")
SETTINGS_HEADER = (
    "# The region classifier's defect probabilities p (their sum kept) moved towards the class the template\n"
    "# detector names by geometry, g: (1 - w) * p + w * onehot(g) * sum(p). 0: the classifier alone.\n"
    "# box_corrections (learnt from the training split): each side of a class's box moves by\n"
    "# slope * size + offset (size: width for x1/x2, height for y1/y2), as [slope, offset].\n"
)


@dataclass(frozen=True)
class BoxCorrection:
    """Per side (x1, y1, x2, y2): (slope, offset) of its move against the box's width or height."""

    sides: tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]

    def apply(self, box: Box, width: int, height: int) -> Box:
        """``box`` corrected, kept inside the image and at least one pixel wide and high."""
        size = (box[2] - box[0], box[3] - box[1])
        moved = [box[i] + slope * size[i % 2] + offset for i, (slope, offset) in enumerate(self.sides)]
        x1, y1 = min(max(0.0, moved[0]), width - 1.0), min(max(0.0, moved[1]), height - 1.0)
        x2, y2 = min(max(x1 + 1.0, moved[2]), float(width)), min(max(y1 + 1.0, moved[3]), float(height))
        return (x1, y1, x2, y2)

    def as_dict(self) -> dict[str, list[float]]:
        return {
            name: [round(slope, 5), round(offset, 4)] for name, (slope, offset) in zip(SIDES, self.sides, strict=True)
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BoxCorrection:
        sides = tuple((float(data[name][0]), float(data[name][1])) for name in SIDES)
        return cls(sides)  # type: ignore[arg-type]  # four pairs, by SIDES


@dataclass(frozen=True)
class RegionSettings:
    geometry_weight: float = 0.0  # see region_backend.blend_with_geometry; 0: the classifier alone
    boxes: dict[str, BoxCorrection] = field(default_factory=dict)  # by class

    def box(self, label: str, box: Box, width: int, height: int) -> Box:
        correction = self.boxes.get(label)
        return box if correction is None else correction.apply(box, width, height)

    def as_text(self) -> str:
        data: dict[str, Any] = {"geometry_weight": self.geometry_weight}
        if self.boxes:
            data["box_corrections"] = {name: c.as_dict() for name, c in sorted(self.boxes.items())}
        return SETTINGS_HEADER + yaml.safe_dump(data, sort_keys=False)


def fit_box_corrections(
    pairs: dict[str, list[tuple[Box, Box]]], min_pairs: int = MIN_PAIRS
) -> dict[str, BoxCorrection]:
    """Per class, from (region box, labelled box) pairs: each side's move as a line in the box's size."""
    found: dict[str, BoxCorrection] = {}
    for label, matched in sorted(pairs.items()):
        if len(matched) < min_pairs:
            continue
        regions = np.asarray([region for region, _ in matched], np.float64)
        truth = np.asarray([labelled for _, labelled in matched], np.float64)
        sizes = np.concatenate([regions[:, 2:] - regions[:, :2]] * 2, axis=1)  # w h w h
        fits = [_side_fit(sizes[:, i], truth[:, i] - regions[:, i]) for i in range(4)]
        found[label] = BoxCorrection(tuple(fits))  # type: ignore[arg-type]
    return found


def _side_fit(sizes: np.ndarray, moves: np.ndarray) -> tuple[float, float]:
    """(slope, offset) of ``moves`` against ``sizes`` by least squares; the mean move where the sizes hardly
    vary (a line through them would say nothing about other sizes)."""
    if float(np.ptp(sizes)) < 1.0:
        return 0.0, float(moves.mean())
    slope, offset = np.polyfit(sizes, moves, 1)
    return float(slope), float(offset)


def read_region_settings(folder: Path, card: ModelCard) -> RegionSettings:
    """The settings of a classifier's registry folder, checked against its card; both off for a classifier
    registered without the file."""
    expected = card.files.get(REGION_SETTINGS_FILE)
    if expected is None:
        return RegionSettings()
    path = folder / REGION_SETTINGS_FILE
    if not path.is_file() or file_sha256(path) != expected:
        raise ModelError(
            f"{path}: missing, or its sha256 does not match the model card; restore the file, or register the "
            "classifier again"
        )
    return parse_region_settings(path)


def parse_region_settings(path: Path) -> RegionSettings:
    try:
        data = yaml.safe_load(path.read_text())
        weight = float(data["geometry_weight"])
        boxes = {str(k): BoxCorrection.from_dict(v) for k, v in (data.get("box_corrections") or {}).items()}
    except (yaml.YAMLError, TypeError, KeyError, ValueError, IndexError, AttributeError):
        raise ModelError(
            f"{path}: expected 'geometry_weight: <0..1>' and optionally 'box_corrections:' with "
            f"[slope, offset] for each of {', '.join(SIDES)} per class"
        ) from None
    if not 0.0 <= weight <= 1.0:
        raise ModelError(f"{path}: geometry_weight {weight} must lie between 0 and 1")
    return RegionSettings(weight, boxes)
