"""Write any imported dataset in the project's YOLO layout with a manifest, atomically.

Readers (YOLO, COCO) produce ``Item``s; this module picks the validation split by group (whole boards
or folders, so validation measures what the model has not seen), writes images (symlinked), labels,
``data.yaml`` and ``manifest.yaml`` in ``OUT.partial`` and renames it to ``OUT`` at the end.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import yaml

from inspection.core.errors import StationError
from inspection.core.hashing import file_sha256
from inspection.core.images import UnreadableImageError, check_image_file
from inspection.ml.dataset.deeppcb import LabelProblem

MANIFEST = "manifest.yaml"
DEFAULT_VAL_SHARE = 0.1
VAL_EVERY = 10  # a source with no split of its own and no groups: every 10th image of each class validates
EVERY_TENTH = f"every {VAL_EVERY}th image of each class (by name), the source having no split of its own"
Label = tuple[int, float, float, float, float]  # class, cx, cy, w, h (normalised)


@dataclass(frozen=True)
class Item:
    image: Path
    labels: tuple[Label, ...]
    group: str
    split: str | None = None  # the source's own split, when it has one


def class_names(names: object) -> list[str]:
    """data.yaml's ``names`` (a mapping index -> name, or a list) as a list in index order."""
    if isinstance(names, dict):
        return [str(names[key]) for key in sorted(names)]
    if isinstance(names, list):
        return [str(name) for name in names]
    return []


def check_box(label: Label, classes: int) -> str | None:
    """What is wrong with a normalised box, or None."""
    cls, cx, cy, w, h = label
    if not 0 <= cls < classes:
        return f"unknown class {cls} (the dataset has {classes})"
    eps = 1e-6
    if w <= 0 or h <= 0 or cx - w / 2 < -eps or cy - h / 2 < -eps or cx + w / 2 > 1 + eps or cy + h / 2 > 1 + eps:
        return f"box {cx:g} {cy:g} {w:g} {h:g} outside the image"
    return None


def report_problems(problems: list[LabelProblem], source: Path) -> None:
    if problems:
        raise StationError(
            f"{len(problems)} label problem(s) in {source}, first: {problems[0]}; fix or remove those files"
        )


def check_images(items: list[Item], source: Path) -> None:
    """Refuse a dataset with an empty, cut short, undecodable or oversized image (training would read it
    as if it were whole): every such file is counted, the first one named."""
    problems = []
    for item in items:
        try:
            check_image_file(item.image)
        except UnreadableImageError as exc:
            problems.append(str(exc))
    if problems:
        raise StationError(
            f"{len(problems)} unusable image(s) in {source}, first: {problems[0]}; fix or remove those files"
        )


def split_within_classes(items: list[Item]) -> tuple[list[Item], str]:
    """The items with their split: the source's own (train/ and val/ or test/ folders) when it has one,
    else every ``VAL_EVERY``-th image of each class (``Item.group``) by name, so every class is validated
    (a class of a single image trains only). The second value says which."""
    if all(item.split is not None for item in items) and any(item.split == "val" for item in items):
        return items, "the source's own split (train/ and val/ or test/ folders)"
    by_class: dict[str, list[Item]] = {}
    for item in sorted(items, key=lambda i: str(i.image)):
        by_class.setdefault(item.group, []).append(item)
    split = []
    for members in by_class.values():
        val = _val_positions(len(members))
        split += [replace(item, split="val" if n in val else "train") for n, item in enumerate(members)]
    return split, EVERY_TENTH


def _val_positions(count: int) -> set[int]:
    """Which of a class's ``count`` images validate: positions 5, 15, 25, ... (from 0); a small class its last."""
    if count < 2:
        return set()
    return set(range(VAL_EVERY // 2, count, VAL_EVERY)) or {count - 1}


def check_new_output(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        raise StationError(f"{out}: already exists and is not empty; choose a new output folder")


@contextmanager
def publishing(out: Path) -> Iterator[Path]:
    """Build a dataset in ``OUT.partial`` (yielded); rename it to ``OUT`` when the block succeeds,
    remove it when it fails: ``OUT`` never holds half a dataset."""
    check_new_output(out)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
        if out.exists():
            out.rmdir()  # empty (checked above)
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def choose_validation(group_of_each: list[str], val_groups: set[str] | None, allow_no_val: bool = False) -> set[str]:
    """The validation groups: those given, or the last groups by name until they hold >= 10% of the
    elements (``group_of_each``: the group of each image or pair)."""
    groups = sorted(set(group_of_each))
    if allow_no_val and val_groups is None and len(groups) == 1:
        return set()
    if val_groups is not None:
        unknown = sorted(val_groups - set(groups))
        if unknown:
            raise StationError(f"validation groups {unknown} are not in the data; it has {groups}")
        chosen = val_groups
    else:
        sizes = {g: group_of_each.count(g) for g in groups}
        chosen = set()
        for group in reversed(groups):
            enough = sum(sizes[g] for g in chosen) >= DEFAULT_VAL_SHARE * len(group_of_each)
            if enough or len(chosen) == len(groups) - 1:
                break
            chosen.add(group)
    if (not chosen and not allow_no_val) or chosen == set(groups):
        raise StationError(f"choose validation groups that leave some for training (groups: {groups})")
    return chosen


def write_layout(
    items: list[Item],
    classes: list[str],
    out: Path,
    source: Path,
    fmt: str,
    val_groups: set[str] | None,
    progress: Callable[[str], None] = print,
    allow_no_val: bool = False,
    own_split: str = "the source's own split",
) -> Path:
    """Write the dataset; returns the manifest path. ``allow_no_val``: a set too small to split goes to
    training whole (records added a few at a time), instead of being refused. ``own_split``: how the
    items' own splits were chosen, for the manifest."""
    check_new_output(out)
    if not items:
        raise StationError(f"{source}: no labelled images found")
    check_images(items, source)
    split_of, split_note = _splits(items, val_groups, allow_no_val, own_split)
    progress(f"{len(items)} images, {sum(len(i.labels) for i in items)} boxes, {len(classes)} classes")
    with publishing(out) as partial:
        files = _write_items(partial, items, split_of, progress)
        manifest = {
            "format": fmt,
            "source": str(source.resolve()),
            "classes": classes,
            "input": "image",
            "split": split_note,
            "counts": {
                "images": len(items),
                "val_images": sum(1 for s in split_of.values() if s == "val"),
                "boxes": sum(len(i.labels) for i in items),
            },
            "images": "symlinks to the source files; sha256 of each below",
            "files": files,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (partial / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))
        names_yaml = "\n".join(f"  {i}: {name}" for i, name in enumerate(classes))
        (partial / "data.yaml").write_text(
            f"path: {out.resolve()}\ntrain: images/train\nval: images/val\ninput: image\nnames:\n{names_yaml}\n"
        )
    progress(f"dataset written to {out} ({MANIFEST}, data.yaml)")
    return out / MANIFEST


def _splits(
    items: list[Item], val_groups: set[str] | None, allow_no_val: bool, own_split: str
) -> tuple[dict[Path, str], dict[str, object]]:
    """Each image's split, and how it was chosen (the source's own split, else by group)."""
    has_own = all(item.split is not None for item in items) and any(item.split == "val" for item in items)
    if has_own and val_groups is None:
        return {item.image: str(item.split) for item in items}, {"by": own_split}
    val = choose_validation([item.group for item in items], val_groups, allow_no_val)
    split_of = {item.image: "val" if item.group in val else "train" for item in items}
    return split_of, {"by": "group", "train": sorted({i.group for i in items} - val), "val": sorted(val)}


def _write_items(
    partial: Path, items: list[Item], split_of: dict[Path, str], progress: Callable[[str], None]
) -> dict[str, str]:
    """Image symlinks and YOLO label files in ``partial``; returns the sha256 of each image by its name."""
    for split in ("train", "val"):
        (partial / "images" / split).mkdir(parents=True)
        (partial / "labels" / split).mkdir(parents=True)
    names: dict[str, Path] = {}
    files = {}
    for number, item in enumerate(items, start=1):
        split = split_of[item.image]
        name = _unique_name(item, names)
        image_dir, label_dir = partial / "images" / split, partial / "labels" / split
        os.symlink(item.image.resolve(), image_dir / name)
        lines = [f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}" for c, cx, cy, w, h in item.labels]
        (label_dir / (Path(name).stem + ".txt")).write_text("\n".join(lines) + ("\n" if lines else ""))
        files[f"{split}/{name}"] = file_sha256(item.image)
        if number % 500 == 0:
            progress(f"written {number}/{len(items)} images")
    return files


def _unique_name(item: Item, taken: dict[str, Path]) -> str:
    """The image's file name, prefixed with its group when two sources share a name."""
    name = item.image.name
    if name in taken and taken[name] != item.image:
        name = f"{item.group}_{name}"
    taken[name] = item.image
    return name
