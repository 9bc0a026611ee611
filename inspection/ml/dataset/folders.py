"""Read and write a dataset held as one folder per class (``dataset import --format folders``).

Layout: ``good/`` and one folder per defect class (``scratch/``, ``dent/`` ...), each holding images; the
labels are per image, not boxes. Optional top-level ``train/`` and ``val/`` (or ``test/``) folders, each
with the class folders, are kept as the split; otherwise every 10th image of each class validates.
Written in the classification layout ultralytics and the station's trainers read (``train/<class>/``,
``val/<class>/``: symlinks to the source files) with a manifest. An empty class folder, an unreadable
image or a missing ``good/`` is an error naming it, before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from inspection.core.errors import StationError
from inspection.core.hashing import file_sha256
from inspection.core.images import IMAGE_SUFFIXES
from inspection.ml.dataset.layout import (
    MANIFEST,
    Item,
    check_images,
    check_new_output,
    publishing,
    split_within_classes,
)
from inspection.ml.dataset.masks import GOOD, SPLIT_FOLDERS


def read_folders(root: Path) -> tuple[list[Item], list[str]]:
    """Every image with its class (``Item.group``; no boxes) and its split if the source has one; the
    classes, ``good`` first."""
    if not root.is_dir():
        raise StationError(f"{root}: not a folder; give the folder holding good/ and one folder per defect class")
    splits = [child for child in sorted(root.iterdir()) if child.is_dir() and child.name.lower() in SPLIT_FOLDERS]
    tops = splits or [root]
    items: list[Item] = []
    for top in tops:
        split = SPLIT_FOLDERS[top.name.lower()] if splits else None
        folders = [child for child in sorted(top.iterdir()) if child.is_dir()]
        if not folders:
            raise StationError(f"{top}: no class folders (good/ and one folder per defect class)")
        for folder in folders:
            images = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                raise StationError(f"{folder}: no images in this class folder; add some or remove it")
            items += [Item(image, (), folder.name, split) for image in images]
    names = {item.group for item in items}
    if GOOD not in names:
        raise StationError(f"{root}: no {GOOD}/ folder (images of good parts); found {sorted(names)}")
    return items, [GOOD, *sorted(names - {GOOD})]


def import_folders(source: Path, out: Path, progress: Callable[[str], None] = print) -> Path:
    """Import a folders dataset; returns the manifest path."""
    check_new_output(out)
    items, classes = read_folders(source)
    check_images(items, source)
    items, split_note = split_within_classes(items)
    counts = {
        split: {name: sum(1 for i in items if i.split == split and i.group == name) for name in classes}
        for split in ("train", "val")
    }
    progress(f"{len(items)} images in {len(classes)} classes: {counts['train']} train, {counts['val']} val")
    with publishing(out) as partial:
        files = {}
        for number, item in enumerate(items, start=1):
            link = partial / str(item.split) / item.group / _name(item, source)
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(item.image.resolve(), link)
            files[str(link.relative_to(partial))] = file_sha256(item.image)
            if number % 500 == 0:
                progress(f"written {number}/{len(items)} images")
        for split in ("train", "val"):
            for name in classes:
                (partial / split / name).mkdir(parents=True, exist_ok=True)  # ultralytics wants every class
        manifest = {
            "format": "folders",
            "source": str(source.resolve()),
            "classes": classes,
            "labels": "per image (no boxes): the folder each image is in",
            "split": {"by": split_note},
            "counts": counts,
            "images": "symlinks to the source files; sha256 of each below",
            "files": files,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (partial / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False))
    progress(f"dataset written to {out} ({MANIFEST}; train/<class>/ and val/<class>/)")
    return out / MANIFEST


def _name(item: Item, source: Path) -> str:
    """The image's path below its class folder, flattened (two sub-folders may hold the same name)."""
    relative = item.image.relative_to(source).parts
    below = relative[relative.index(item.group) + 1 :]
    return "__".join(below)
