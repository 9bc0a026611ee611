"""Read the validation split of a dataset in the project's YOLO layout (images + normalised labels)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from inspection.core.boxes import Box
from inspection.core.errors import StationError
from inspection.core.images import list_images
from inspection.ml.dataset.layout import class_names


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    labels: tuple[tuple[int, float, float, float, float], ...]  # class, cx, cy, w, h (normalised)

    def boxes(self, width: int, height: int) -> list[tuple[int, Box]]:
        """(class index, x1 y1 x2 y2 in pixels) for an image of that size."""
        return [
            (cls, ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height))
            for cls, cx, cy, w, h in self.labels
        ]


@dataclass(frozen=True)
class EvalSet:
    classes: list[str]
    input_mode: str
    images: list[LabelledImage]


def read_split(data: Path, split: str = "val") -> EvalSet:
    """The images of one split with their labels."""
    data_yaml = data / "data.yaml" if data.is_dir() else data
    if not data_yaml.is_file():
        raise StationError(f"{data}: no data.yaml; give a dataset from 'inspection dataset import'")
    spec = yaml.safe_load(data_yaml.read_text()) or {}
    classes = class_names(spec.get("names"))
    root = Path(spec.get("path", data_yaml.parent))
    image_dir = root / str(spec.get(split, f"images/{split}"))
    files = list_images(image_dir)
    if not files:
        raise StationError(f"{image_dir}: no images in the '{split}' split")
    label_dir = Path(str(image_dir).replace("/images/", "/labels/").replace("/images", "/labels"))
    images = []
    for path in files:
        label = label_dir / (path.stem + ".txt")
        labels = []
        lines = label.read_text().splitlines() if label.is_file() else []
        for number, line in enumerate(lines, start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                cls = int(fields[0])
                cx, cy, w, h = (float(v) for v in fields[1:5])
            except (ValueError, IndexError):
                raise StationError(f"{label}:{number}: expected 'class cx cy w h', got {line!r}") from None
            if not 0 <= cls < len(classes):
                raise StationError(f"{label}:{number}: class {cls} is not in data.yaml's names")
            labels.append((cls, cx, cy, w, h))
        images.append(LabelledImage(path, tuple(labels)))
    return EvalSet(classes, str(spec.get("input", "image")), images)
