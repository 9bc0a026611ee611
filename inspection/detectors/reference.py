"""Reference images of the good part, for models that compare each part with one.

A recipe may hold several (views of a product, positions on a panel): each part is compared with
the most similar one, found on small normalised thumbnails (a few microseconds per reference).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from inspection.core.channels import grey, stack_with_reference
from inspection.core.errors import ConfigError
from inspection.core.images import list_images, read_image
from inspection.core.types import Image

THUMBNAIL = 48


def _signature(image: Image) -> np.ndarray:
    small = cv2.resize(grey(image), (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA).astype(np.float32)
    small -= small.mean()
    norm = float(np.linalg.norm(small))
    return np.asarray((small / norm if norm > 0 else small).ravel(), dtype=np.float32)


# A reference built from several good images keeps its tolerance band beside it (template detector).
BAND_SUFFIXES = (".low.png", ".high.png")


class References:
    def __init__(self, images: list[tuple[str, Image]], paths: list[Path] | None = None) -> None:
        if not images:
            raise ConfigError("no reference images given")
        self.names = [name for name, _ in images]
        self.images = [grey(image) for _, image in images]
        self.paths: list[Path | None] = list(paths) if paths is not None else [None] * len(images)
        self._signatures = np.stack([_signature(image) for image in self.images])

    @classmethod
    def load(cls, path: Path) -> References:
        files = [file for file in list_images(path) if not file.name.endswith(BAND_SUFFIXES)]
        if not files:
            raise ConfigError(f"reference {path}: no such image, or no images in that folder or pattern")
        images = []
        for file in files:
            image = read_image(file)
            if image is None:
                raise ConfigError(f"reference {file}: not a readable image")
            images.append((file.name, image))
        return cls(images, files)

    def nearest(self, image: Image) -> int:
        """Index of the reference most like ``image`` (normalised correlation of thumbnails)."""
        if len(self.images) == 1:
            return 0
        return int(np.argmax(self._signatures @ _signature(image)))

    def stack(self, image: Image) -> tuple[int, Image]:
        """The nearest reference's index, and ``image`` stacked with it."""
        board = grey(image)  # once, for both the choice and the stack
        index = self.nearest(board)
        return index, stack_with_reference(board, self.images[index])
