"""Read COCO detection annotations (one JSON file per split, or one for all).

Classes are the categories in id order. An annotation with an unknown image or category, a box
outside its image, or an empty box is a problem reported with the file and the annotation id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inspection.core.errors import StationError
from inspection.ml.dataset.deeppcb import LabelProblem
from inspection.ml.dataset.layout import Item, Label, check_box
from inspection.ml.dataset.yolo import _prefix


def read_coco(root: Path) -> tuple[list[Item], list[str], list[LabelProblem]]:
    files = [root] if root.is_file() else sorted((root / "annotations").glob("*.json")) or sorted(root.glob("*.json"))
    if not files:
        raise StationError(f"{root}: no COCO annotation file (*.json, or annotations/*.json)")
    items: list[Item] = []
    problems: list[LabelProblem] = []
    classes: list[str] | None = None
    for file in files:
        try:
            data = json.loads(file.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StationError(f"{file}: not a readable COCO JSON file ({exc})") from None
        categories = sorted(data.get("categories", []), key=lambda c: c["id"])
        names = [str(c["name"]) for c in categories]
        if classes is None:
            classes = names
        elif names != classes:
            raise StationError(f"{file}: categories {names} differ from {files[0].name}'s {classes}")
        split = "val" if "val" in file.stem.lower() else "train" if "train" in file.stem.lower() else None
        items += _items(file, data, {c["id"]: i for i, c in enumerate(categories)}, split, problems)
    return items, classes or [], problems


def _items(
    file: Path, data: dict[str, Any], class_of: dict[int, int], split: str | None, problems: list[LabelProblem]
) -> list[Item]:
    images = {image["id"]: image for image in data.get("images", [])}
    labels: dict[int, list[Label]] = {image_id: [] for image_id in images}
    for annotation in data.get("annotations", []):
        where = f"annotation id {annotation.get('id')}"
        image = images.get(annotation.get("image_id"))
        if image is None:
            problems.append(LabelProblem(file, 0, f"{where}: unknown image id {annotation.get('image_id')}"))
            continue
        category = annotation.get("category_id")
        if category not in class_of:
            problems.append(LabelProblem(file, 0, f"{where}: unknown category id {category}"))
            continue
        x, y, w, h = (float(v) for v in annotation.get("bbox", (0, 0, 0, 0)))
        width, height = float(image["width"]), float(image["height"])
        label: Label = (class_of[category], (x + w / 2) / width, (y + h / 2) / height, w / width, h / height)
        wrong = check_box(label, len(class_of))
        if wrong:
            problems.append(LabelProblem(file, 0, f"{where}: {wrong}"))
            continue
        labels[image["id"]].append(label)
    base = file.parent.parent if file.parent.name == "annotations" else file.parent
    items = []
    for image_id, image in images.items():
        path = _find_image(base, str(image["file_name"]))
        if path is None:
            problems.append(LabelProblem(file, 0, f"image id {image_id}: file {image['file_name']} not found"))
            continue
        relative = Path(str(image["file_name"])).parent
        group = relative.parts[0] if relative.parts else _prefix(path.stem)
        items.append(Item(path, tuple(labels[image_id]), group, split))
    return items


def _find_image(base: Path, name: str) -> Path | None:
    for candidate in (base / name, base / "images" / name):
        if candidate.is_file():
            return candidate
    return None
