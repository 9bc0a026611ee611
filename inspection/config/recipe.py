"""A recipe: the product's model, classes, reference images and the rules that turn detections into a verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from inspection.config.files import Strict, resolve, validated
from inspection.core.channels import Alignment

Box = tuple[float, float, float, float]


class ClassRule(Strict):
    """When detections of one class make a part FAIL."""

    min_confidence: float = Field(0.5, ge=0.0, le=1.0)
    min_area_px: float = Field(0.0, ge=0.0, description="smaller boxes (px^2) are ignored")
    max_count: int = Field(0, ge=0, description="more than this many kept detections -> FAIL")
    # Sizes on the part (need the station's scale, see ``measurement``): the longest side of the box, and
    # its area. A detection counts only inside these limits.
    min_size_mm: float = Field(0.0, ge=0.0, description="smaller defects (longest side, mm) are ignored")
    max_size_mm: float | None = Field(None, gt=0.0, description="larger defects (longest side, mm) are ignored")
    min_area_mm2: float = Field(0.0, ge=0.0, description="smaller defects (box area, mm^2) are ignored")
    max_area_mm2: float | None = Field(None, gt=0.0, description="larger defects (box area, mm^2) are ignored")

    def uses_mm(self) -> bool:
        return (
            bool(self.min_size_mm or self.min_area_mm2)
            or self.max_size_mm is not None
            or (self.max_area_mm2 is not None)
        )


class Recipe(Strict):
    name: str
    version: str = "1"
    model: Path
    classes: list[str] = Field(min_length=1)
    default_rule: ClassRule = ClassRule()
    rules: dict[str, ClassRule] = Field(default_factory=dict)
    roi: Box | None = Field(None, description="only detections whose centre lies inside count")
    ignore: list[Box] = Field(default_factory=list, description="detections centred here never count")
    reference: Path | None = Field(
        None,
        description=(
            "reference image(s) of the good part (file, folder or glob), for models that compare each part "
            "with it; with several, each part is compared with the most similar one"
        ),
    )
    reference_alignment: Alignment = Field(
        "euclidean",
        description=(
            "how the reference is registered to each part before a model compares them (none: trust the "
            "fixture to the pixel)"
        ),
    )
    imgsz: int = Field(640, ge=32, le=4096, description="detector input size (pixels, square)")
    iou: float = Field(0.5, gt=0.0, le=1.0, description="non-maximum suppression IoU")
    camera: dict[Literal["exposure_us", "gain", "width", "height", "offset_x", "offset_y"], float] = Field(
        default_factory=dict,
        description=(
            "camera settings for this product, set on the open camera at start and at a changeover: "
            "exposure_us, gain, and the image region (width, height, offset_x, offset_y, sensor pixels)"
        ),
    )
    ideal_cycle_s: float | None = Field(
        None, gt=0.0, description="the product's ideal cycle time (s per part): OEE's performance is measured on it"
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("camera")
    @classmethod
    def _region_in_whole_pixels(cls, camera: dict[str, float]) -> dict[str, float]:
        for name, least in (("width", 1), ("height", 1), ("offset_x", 0), ("offset_y", 0)):
            value = camera.get(name)
            if value is not None and (value != int(value) or value < least):
                raise ValueError(f"camera {name} {value:g}: give whole pixels, {least} or more")
        return camera

    @model_validator(mode="after")
    def _rules_name_known_classes(self) -> Recipe:
        unknown = sorted(set(self.rules) - set(self.classes))
        if unknown:
            raise ValueError(f"rules for unknown classes {unknown}; the recipe's classes are {self.classes}")
        return self

    def rule_for(self, label: str) -> ClassRule:
        return self.rules.get(label, self.default_rule)

    def uses_mm(self) -> bool:
        """Whether some rule limits sizes in millimetres (then the station needs a scale)."""
        return any(rule.uses_mm() for rule in [self.default_rule, *self.rules.values()])


def load_recipe(path: Path) -> Recipe:
    path = Path(path)
    recipe = validated(Recipe, path)
    reference = None if recipe.reference is None else resolve(path.parent, recipe.reference)
    return recipe.model_copy(update={"model": resolve(path.parent, recipe.model), "reference": reference})
