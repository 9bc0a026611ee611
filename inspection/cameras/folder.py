"""Replay a folder (or glob) of images: offline re-inspection and tests."""

from __future__ import annotations

import glob
import time
from pathlib import Path

import cv2

from inspection.cameras.base import CameraSource, EndOfStream, GrabFailed
from inspection.config import FolderCamera
from inspection.errors import CameraError
from inspection.types import Frame

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def list_images(path: Path) -> list[Path]:
    """Images in a folder (sorted by name), or those matching a glob pattern."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if any(ch in str(path) for ch in "*?["):
        return sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    if path.is_file():
        return [path]
    return []


def read_image(path: Path, grayscale: bool = False) -> cv2.typing.MatLike | None:
    """Read an image keeping mono images mono; None when unreadable."""
    flags = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_UNCHANGED
    image = cv2.imread(str(path), flags)
    if image is not None and image.dtype != "uint8":
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1.0, float(image.max())))
    return image


class FolderSource(CameraSource):
    def __init__(self, config: FolderCamera) -> None:
        self.config = config
        self.name = f"folder:{config.path.name}"
        self._files: list[Path] = []
        self._position = 0
        self._index = 0
        self._last = 0.0
        self.paced_by_station = config.trigger.interval_ms == 0

    def open(self) -> None:
        self._files = list_images(self.config.path)
        if not self._files:
            raise CameraError(f"{self.config.path}: no images found (png, jpg, bmp, tif, webp)")

    def grab(self) -> Frame | None:
        if self._position >= len(self._files):
            if not self.config.loop:
                raise EndOfStream()
            self._position = 0
        interval = self.config.trigger.interval_ms / 1000
        if interval > 0:
            time.sleep(max(0.0, self._last + interval - time.perf_counter()))
            self._last = time.perf_counter()
        path = self._files[self._position]
        self._position += 1
        started = time.perf_counter()
        image = read_image(path, self.config.grayscale)
        if image is None:
            raise GrabFailed("unreadable", f"{path}: not a readable image")
        self._index += 1
        return Frame(
            image=image,
            camera=self.name,
            index=self._index,
            source_name=path.name,
            grab_ms=(time.perf_counter() - started) * 1000,
        )

    def close(self) -> None:
        self._files = []
