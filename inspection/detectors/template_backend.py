"""The golden-template detector: no network; each part is compared with the good part's image.

Selected in a recipe by pointing ``model`` at a settings file (YAML with ``detector: golden-template``,
see ``configs/detectors/golden-template.yaml``); the recipe's ``reference`` gives the good part. A
reference ``X.png`` built from several good images (``inspection calibrate template``) has its tolerance
band beside it as ``X.low.png`` and ``X.high.png``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from calibration.defect_kinds import DEFECT_KINDS, classify, naming_rules
from calibration.golden import Comparison, GoldenTemplate, TemplateSettings
from calibration.registration import RegistrationError
from inspection.config import describe_validation_error
from inspection.core.channels import grey
from inspection.core.errors import ModelError, PartMismatchError
from inspection.core.hashing import file_sha256
from inspection.core.images import read_image
from inspection.core.types import Detection, Image
from inspection.detectors.base import Detector, ModelInfo, model_name
from inspection.detectors.loading import DetectorType
from inspection.detectors.reference import BAND_SUFFIXES, References

BACKEND = "golden-template"


class TemplateDetectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: Literal["golden-template"]
    classes: list[str] = Field(default_factory=lambda: list(DEFECT_KINDS))
    foreground: Literal["dark", "bright"] = Field("dark", description="the material (copper) in the image")
    tolerance: int = Field(60, ge=0, le=255, description="grey levels beyond the good part's band")
    edge_px: int = Field(1, ge=0, le=10, description="edge movement the band absorbs")
    min_area_px: int = Field(12, ge=1, description="smaller differences are noise")
    merge_px: int = Field(4, ge=0, le=50, description="differences closer than this are one defect")
    box_margin_px: int = Field(0, ge=0, le=100, description="grow each box by this much on every side")
    motion: Literal["translation", "euclidean", "affine"] = "euclidean"
    naming_rules: int = Field(
        1, description="how a region is named by its topology (calibration/defect_kinds.py); absent: 1, as before"
    )

    @field_validator("naming_rules")
    @classmethod
    def _known_rules(cls, value: int) -> int:
        naming_rules(value)  # raises for a version this station does not know
        return value

    def settings(self) -> TemplateSettings:
        return TemplateSettings(
            foreground=self.foreground,
            tolerance=self.tolerance,
            edge_px=self.edge_px,
            min_area_px=self.min_area_px,
            merge_px=self.merge_px,
            motion=self.motion,
        )


def read_config(path: Path) -> TemplateDetectorConfig:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"{path}: not a readable detector settings file ({exc})") from None
    if not isinstance(data, dict) or data.get("detector") != BACKEND:
        raise ModelError(f"{path}: not a detector settings file (expected 'detector: {BACKEND}')")
    try:
        config = TemplateDetectorConfig.model_validate(data)
    except ValidationError as exc:
        raise ModelError(describe_validation_error(path, exc)) from None
    unknown = sorted(set(config.classes) - set(DEFECT_KINDS))
    if unknown:
        raise ModelError(f"{path}: classes {unknown} unknown to the template detector; it names {list(DEFECT_KINDS)}")
    return config


def confidence(area_px: int, min_area_px: int) -> float:
    """A size-based score in (0, 1): a region at the minimum area scores 0.39, at twice it 0.63, at four
    times 0.86. It ranks detections (for mAP); the recipe's ``min_confidence`` then acts as a size limit."""
    return 1.0 - math.exp(-area_px / (2.0 * min_area_px))


class TemplateDetector(Detector):
    def __init__(self, path: Path, references: References | None = None) -> None:
        self.config = read_config(path)
        self.settings = self.config.settings()
        self.info = ModelInfo(
            name=model_name(path),
            path=path,
            sha256=file_sha256(path),
            classes=list(self.config.classes),
            backend=BACKEND,
            device="cpu",
            imgsz=0,
            threads=1,
            input_mode="image+reference",
        )
        self.references = references
        self._templates: dict[int, GoldenTemplate] = {}

    @property
    def concurrent(self) -> bool:
        return True  # OpenCV and numpy on each part; the templates' cache is the same whichever thread fills it

    def _detect(self, image: Image, min_confidence: float) -> tuple[list[Detection], str | None]:
        if self.references is None:
            raise ModelError(f"{self.info.path}: the template detector needs a reference image of the good part")
        index = self.references.nearest(image)
        return self.detect(image, self._template(index), min_confidence), self.references.names[index]

    def predict_prepared(self, image: Image, min_confidence: float) -> list[Detection]:
        """A stacked (image, reference, difference) input, as in an ``image+reference`` dataset."""
        template = GoldenTemplate.from_image(image[:, :, 1], self.settings.edge_px)
        return self.detect(image[:, :, 0], template, min_confidence)

    def _template(self, index: int) -> GoldenTemplate:
        if index not in self._templates:
            assert self.references is not None
            self._templates[index] = load_template(
                self.references.images[index], self.references.paths[index], self.settings.edge_px
            )
        return self._templates[index]

    def detect(self, image: Image, template: GoldenTemplate, min_confidence: float) -> list[Detection]:
        return self.detect_aligned(image, template, min_confidence)[0]

    def detect_aligned(
        self, image: Image, template: GoldenTemplate, min_confidence: float
    ) -> tuple[list[Detection], Image]:
        """The detections, and the good part registered onto ``image``'s pixel grid (what it was compared with)."""
        try:
            comparison = template.compare(image, self.settings)
        except RegistrationError as exc:
            raise PartMismatchError(f"the part does not match its reference image: {exc}") from None
        return self._detections(comparison, image, min_confidence), comparison.aligned

    def _detections(self, comparison: Comparison, image: Image, min_confidence: float) -> list[Detection]:
        height, width = image.shape[:2]
        dark = self.settings.foreground == "dark"
        board = grey(image)
        seen_fg = (board < 128) if dark else (board >= 128)
        good_fg = (comparison.aligned < 128) if dark else (comparison.aligned >= 128)
        margin = self.config.box_margin_px
        found = []
        for region in comparison.regions:
            kind = classify(region, seen_fg, good_fg, self.config.naming_rules)
            if kind not in self.info.classes:
                continue
            x1, y1, x2, y2 = region.box
            box = (
                float(max(0, x1 - margin)),
                float(max(0, y1 - margin)),
                float(min(width, x2 + margin)),
                float(min(height, y2 + margin)),
            )
            score = confidence(region.area_px, self.settings.min_area_px)
            if score < min_confidence:
                continue
            found.append(Detection(kind, self.info.classes.index(kind), score, box))
        return sorted(found, key=lambda d: d.confidence, reverse=True)


def load_template(image: Image, path: Path | None, edge_px: int) -> GoldenTemplate:
    """The reference as a template: with its saved tolerance band when one lies beside it."""
    if path is not None:
        low_path, high_path = (path.with_name(path.stem + suffix) for suffix in BAND_SUFFIXES)
        if low_path.is_file() and high_path.is_file():
            low, high = read_image(low_path), read_image(high_path)
            if low is None or high is None:
                raise ModelError(f"{low_path} / {high_path}: the reference's tolerance band is unreadable")
            return GoldenTemplate(grey(image), grey(low), grey(high))
    return GoldenTemplate.from_image(image, edge_px)


TEMPLATE_SUFFIXES = (".yaml", ".yml")

TEMPLATE = DetectorType(
    "template",
    claims=lambda request: request.path.suffix.lower() in TEMPLATE_SUFFIXES,
    load=lambda request: TemplateDetector(request.path, request.references("image+reference")),
    describe="a golden-template settings .yaml",
)
