"""What a detector type is: which model files it claims and how it loads one. ``factory.DETECTOR_TYPES``
lists them; ``load_detector`` asks each in turn."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inspection.core.channels import INPUT_MODES, Alignment, InputMode
from inspection.core.errors import ModelError
from inspection.detectors.base import Detector
from inspection.detectors.card import ModelCard
from inspection.detectors.reference import References

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadRequest:
    """A model file to load, its card (checked already; None when it has none) and the station's settings.

    ``prepared_input``: the caller feeds network-ready images (``predict_prepared``, e.g. a stacked
    dataset), so no reference is needed."""

    path: Path
    card: ModelCard | None
    card_folder: Path | None
    imgsz: int
    device: str = "auto"
    iou: float = 0.5
    threads: int = 1
    reference: Path | None = None
    prepared_input: bool = False
    alignment: Alignment = "euclidean"  # how each part's reference is registered to it before stacking
    parallel: int = 1  # parts inspected at once (the station's detect workers): a network serves that many callers

    def references(self, mode: InputMode) -> References | None:
        """The good parts a model of input ``mode`` compares camera images with (None when it needs none)."""
        if mode == "image":
            if self.reference is not None:
                log.info("%s looks at the image alone; the reference %s is not used", self.path, self.reference)
            return None
        if self.prepared_input:
            return None
        if self.reference is None:
            raise ModelError(
                f"{self.path}: this model compares each part with a reference image of the good part; set "
                "'reference' in the recipe (or pass --reference)"
            )
        return References.load(self.reference, self.alignment)

    def input_mode(self, default: str) -> InputMode:
        """The card's input mode, else ``default`` (what the file itself says), checked."""
        mode = self.card.input.mode if self.card is not None else default
        for known in INPUT_MODES:
            if mode == known:
                return known
        raise ModelError(f"{self.path}: unknown model input mode {mode!r}; this version knows {list(INPUT_MODES)}")


@dataclass(frozen=True)
class DetectorType:
    name: str
    claims: Callable[[LoadRequest], bool]  # is this model file one of ours?
    load: Callable[[LoadRequest], Detector]
    describe: str  # for the error that no type claims a file
