"""Read a plain YOLO dataset: ``data.yaml`` (names, train/val image folders) or ``images/`` + ``labels/``.

A missing or empty label file is a defect-free (background) image, as in YOLO itself. Lines with a
wrong field count, non-numbers, unknown classes or boxes outside the image are problems, each with
its file and line.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from inspection.core.errors import StationError
from inspection.core.images import IMAGE_SUFFIXES
from inspection.ml.dataset.deeppcb import LabelProblem
from inspection.ml.dataset.layout import Item, Label, check_box, class_names


def read_yolo(root: Path) -> tuple[list[Item], list[str], list[LabelProblem]]:
    classes, splits = _spec(root)
    items: list[Item] = []
    problems: list[LabelProblem] = []
    for split, image_dir in splits.items():
        for image in sorted(p for p in image_dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            label = _label_path(image)
            labels, found = _read_labels(label, len(classes))
            problems.extend(found)
            relative = image.parent.relative_to(image_dir)
            group = relative.parts[0] if relative.parts else _prefix(image.stem)
            items.append(Item(image, tuple(labels), group, split))
    return items, classes, problems


def _spec(root: Path) -> tuple[list[str], dict[str, Path]]:
    data_yaml = root / "data.yaml" if root.is_dir() else root
    if data_yaml.is_file():
        spec = yaml.safe_load(data_yaml.read_text()) or {}
        base = Path(spec.get("path") or data_yaml.parent)
        if not base.is_absolute():
            base = data_yaml.parent / base
        if not isinstance(spec.get("names"), dict | list):
            raise StationError(f"{data_yaml}: no 'names' (the class list)")
        classes = class_names(spec["names"])
        splits = {s: base / str(spec[s]) for s in ("train", "val") if isinstance(spec.get(s), str)}
    else:
        raise StationError(f"{root}: no data.yaml (YOLO datasets name their classes there)")
    missing = [str(p) for p in splits.values() if not p.is_dir()]
    if not splits or missing:
        raise StationError(f"{data_yaml}: image folders not found: {missing or 'none named'}")
    return classes, splits


def _label_path(image: Path) -> Path:
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _read_labels(path: Path, classes: int) -> tuple[list[Label], list[LabelProblem]]:
    if not path.is_file():
        return [], []
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return [], [LabelProblem(path, 0, f"unreadable: {exc}")]
    labels: list[Label] = []
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) != 5:
            problems.append(LabelProblem(path, number, f"expected 'class cx cy w h', got {raw.strip()!r}"))
            continue
        try:
            label: Label = (int(fields[0]), *(float(v) for v in fields[1:]))  # type: ignore[assignment]
        except ValueError:
            problems.append(LabelProblem(path, number, f"not numbers: {raw.strip()!r}"))
            continue
        wrong = check_box(label, classes)
        if wrong:
            problems.append(LabelProblem(path, number, wrong))
            continue
        labels.append(label)
    return labels, problems


def _prefix(stem: str) -> str:
    """A group from a flat folder: the name up to the first '_' or '-' (e.g. a board or lot id)."""
    for separator in ("_", "-"):
        if separator in stem:
            return stem.split(separator, 1)[0]
    return stem
