"""The good images an anomaly model trains on: a folder of them (or a glob), or the good parts of a dataset
from ``inspection dataset import`` (its train split: images with no boxes, or those in ``good/``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inspection.core.errors import StationError
from inspection.core.images import IMAGE_SUFFIXES, UnreadableImageError, list_images, load_image
from inspection.core.types import Image

MIN_GOOD = 10  # fewer cannot both fill the memory and leave good parts to set the threshold on
BATCH = 16  # images a training step's work file holds
GOOD_CLASS = "good"


def _dataset_good(data: Path) -> list[Path] | None:
    """The good images of a dataset's train split, or None when ``data`` is not a dataset."""
    if (data / "images" / "train").is_dir():  # detection layout: no label lines = a good part
        labels = data / "labels" / "train"
        return [
            image for image in list_images(data / "images" / "train")
            if not (labels / f"{image.stem}.txt").is_file() or not (labels / f"{image.stem}.txt").read_text().strip()
        ]  # fmt: skip
    if (data / "train" / GOOD_CLASS).is_dir():  # classification layout
        return list_images(data / "train" / GOOD_CLASS)
    return None


def find_good_images(data: Path) -> list[Path]:
    """The good images ``data`` names (sorted), at least ``MIN_GOOD``; else a ``StationError`` saying why."""
    images = _dataset_good(data) if data.is_dir() else None
    if images is None:
        images = list_images(data)
        if not images and data.is_dir():  # a folder of folders (one per lot, camera, day)
            images = sorted(p for p in data.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not data.exists() and not images:
        raise StationError(f"{data}: no such folder or file; give --data a folder of good images")
    if len(images) < MIN_GOOD:
        raise StationError(
            f"{data}: {len(images)} good image(s) found; an anomaly model needs at least {MIN_GOOD} (better 100 "
            "or more): some fill its memory, the rest set its threshold"
        )
    return images


def read_all(paths: list[Path]) -> list[Image]:
    """Every image, or a ``StationError`` naming the first that cannot be read (nothing is trained then)."""
    images = []
    for path in paths:
        try:
            images.append(load_image(path))
        except UnreadableImageError as exc:
            raise StationError(f"{exc}; remove or replace it, then train again") from None
    return images


def in_batches(paths: list[Path]) -> list[list[Path]]:
    """The images in batches of ``BATCH``, as the training steps keep their work (one file a batch)."""
    return [paths[i : i + BATCH] for i in range(0, len(paths), BATCH)]


def split_held_out(count: int, share: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices that train and those held out to set the threshold (at least 5 of each), chosen at random."""
    if not 0.0 < share < 1.0:
        raise StationError(f"--holdout {share}: give a share between 0 and 1 (default 0.2)")
    held = min(max(5, round(count * share)), count - 5)
    order = np.random.default_rng(seed).permutation(count)
    return sorted(int(i) for i in order[held:]), sorted(int(i) for i in order[:held])
