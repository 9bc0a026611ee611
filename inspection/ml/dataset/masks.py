"""Read a dataset held as images with defect mask images (``dataset import --format masks``).

Layout: the images anywhere under the source (class folders optional: ``scratch/001.png``), the masks in
``masks/`` or ``ground_truth/`` beside them at the same relative path (``masks/scratch/001.png`` or
``001_mask.png``, any image format; a top-level ``train/``, ``val/`` or ``test/`` folder may be left out of
the mask's path, as MVTec AD does). Each connected component of a mask (pixels above 127) becomes a box of
the image's class: its folder's name, or ``defect`` for images not in class folders (``images/`` itself
and the split folders are not classes). An image with no
mask, or an empty one, is a good part; in a class folder other than ``good`` a missing mask is a problem.
A mask whose size differs from its image, or that cannot be read, is a problem named with both files.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspection.core.errors import StationError
from inspection.core.images import IMAGE_SUFFIXES, UnreadableImageError, check_image_file, load_image
from inspection.ml.dataset.deeppcb import LabelProblem
from inspection.ml.dataset.layout import Item, Label

MASK_FOLDERS = ("masks", "ground_truth")
GOOD = "good"
ONE_CLASS = "defect"
SPLIT_FOLDERS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "val"}
IMAGES = "images"
MASK_ON = 127  # grey level above which a mask pixel marks a defect


def read_masks(root: Path) -> tuple[list[Item], list[str], list[LabelProblem]]:
    """Every image under ``root`` with its boxes from its mask; the classes; the problems found."""
    if not root.is_dir():
        raise StationError(f"{root}: not a folder; give the folder holding the images and their masks/ folder")
    mask_root = next((root / name for name in MASK_FOLDERS if (root / name).is_dir()), None)
    if mask_root is None:
        raise StationError(f"{root}: no masks/ (or ground_truth/) folder beside the images")
    images = sorted(
        path for path in root.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES and mask_root not in path.parents and path.is_file()
    )  # fmt: skip
    if not images:
        raise StationError(f"{root}: no images outside {mask_root.name}/")
    classes = sorted({_class_of(path.relative_to(root)) for path in images} - {GOOD, ONE_CLASS}) or [ONE_CLASS]
    items: list[Item] = []
    problems: list[LabelProblem] = []
    for image in images:
        relative = image.relative_to(root)
        name = _class_of(relative)
        mask = _mask_of(mask_root, relative)
        if mask is None:
            if name not in (GOOD, ONE_CLASS):
                problems.append(LabelProblem(image, 0, f"no mask for this '{name}' image in {mask_root}"))
            labels: list[Label] = []
        else:
            labels = _boxes(image, mask, classes.index(name) if name in classes else 0, problems)
        items.append(Item(image, tuple(labels), name, _split_of(relative)))
    return items, classes, problems


def _class_of(relative: Path) -> str:
    """The image's class folder (the one holding it, a split folder skipped), else the one class."""
    folders = [part for part in relative.parts[:-1] if part.lower() not in SPLIT_FOLDERS and part != IMAGES]
    return folders[-1] if folders else ONE_CLASS


def _split_of(relative: Path) -> str | None:
    """The split a top-level ``train/``, ``val/`` or ``test/`` folder (under ``images/`` or not) names."""
    parts = [part for part in relative.parts[:-1] if part != IMAGES][:1]
    return SPLIT_FOLDERS.get(parts[0].lower()) if parts else None


def _mask_of(mask_root: Path, relative: Path) -> Path | None:
    """The mask file of an image: same relative path (top ``images/`` and split folders optional), named
    ``stem`` or ``stem_mask``."""
    folders = [relative.parent]
    parts = list(relative.parts[:-1])
    while parts and (parts[0].lower() in SPLIT_FOLDERS or parts[0] == IMAGES):
        parts.pop(0)
        folders.append(Path(*parts))
    for folder in folders:
        for stem in (relative.stem, relative.stem + "_mask"):
            for suffix in sorted(IMAGE_SUFFIXES):
                candidate = mask_root / folder / (stem + suffix)
                if candidate.is_file():
                    return candidate
    return None


def _boxes(image: Path, mask: Path, cls: int, problems: list[LabelProblem]) -> list[Label]:
    """One normalised box per connected component of the mask."""
    try:
        width, height = check_image_file(image)
        pixels = load_image(mask, grayscale=True)
    except UnreadableImageError as exc:
        problems.append(LabelProblem(mask, 0, f"{exc} (the mask of {image})"))
        return []
    if pixels.shape[:2] != (height, width):
        size = f"{pixels.shape[1]} x {pixels.shape[0]}"
        problems.append(LabelProblem(mask, 0, f"mask is {size} px, its image {image} is {width} x {height}"))
        return []
    count, _, stats, _ = cv2.connectedComponentsWithStats((pixels > MASK_ON).astype(np.uint8), connectivity=8)
    boxes: list[Label] = []
    for x, y, w, h, _area in stats[1:count]:
        boxes.append((cls, (x + w / 2) / width, (y + h / 2) / height, w / width, h / height))
    return boxes
