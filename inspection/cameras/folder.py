"""Replay a folder (or glob) of images: offline re-inspection and tests."""

from __future__ import annotations

import time
from pathlib import Path

from inspection.cameras.base import CameraSource, EndOfStream, GrabFailed
from inspection.config import FolderCamera
from inspection.core.errors import CameraError
from inspection.core.images import UnreadableImageError, list_images, load_image
from inspection.core.types import Frame


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
        try:
            image = load_image(path, self.config.grayscale, self.config.max_image_pixels)
        except UnreadableImageError as exc:
            raise GrabFailed("unreadable", str(exc)) from None
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
