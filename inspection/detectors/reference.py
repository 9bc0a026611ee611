"""Reference images of the good part, for models that compare each part with one.

A recipe may hold several (views of a product, positions on a panel): each part is compared with
the most similar one, found on small normalised thumbnails (a few microseconds per reference).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from calibration.registration import Prepared, RegistrationError, is_blank, register
from inspection.core.channels import Alignment, grey, stack_with_reference
from inspection.core.errors import ConfigError, PartMismatchError
from inspection.core.images import list_images, read_image
from inspection.core.types import Image

THUMBNAIL = 48
FINEST_LEVEL = 1  # registration refined on half-resolution images: about 0.1 px, four times faster
MAX_SNAP_ROTATION = 1e-3  # radians (0.06 degree: under 0.3 px at the corner of a 640 px image)
CLEAR_DIFFERENCE = 60  # grey levels: a pixel this far from the reference differs (the template tolerance)


def aligned_reference(board: Image, reference: Image, alignment: Alignment, prepared: Prepared | None = None) -> Image:
    """``reference`` (grey) registered onto ``board``'s (grey) pixel grid; ``prepared``: the reference made
    ready for registration once (``Prepared.of``), for a reference many parts are compared with. A part
    that cannot be registered to it raises ``PartMismatchError`` (a reject with that reason)."""
    if reference.shape != board.shape:
        reference = cv2.resize(reference, (board.shape[1], board.shape[0]), interpolation=cv2.INTER_AREA)
        prepared = None
    if alignment == "none" or is_blank(reference) or is_blank(board):
        return reference  # nothing to align on (an empty area): the fixture holds it
    try:
        registration = register(Prepared.of(board), prepared or Prepared.of(reference), alignment, finest=FINEST_LEVEL)
    except RegistrationError as exc:
        raise PartMismatchError(f"the part does not match its reference image: {exc}") from None
    return _closest(board, reference, _candidates(registration.matrix))


def _candidates(matrix: np.ndarray) -> list[np.ndarray | None]:
    """The registration, the nearest whole-pixel shift when it barely turns (resampling a binarised image
    greys its edges), and no movement (a pair aligned to the pixel; None)."""
    found: list[np.ndarray | None] = [matrix]
    if abs(matrix[1, 0]) < MAX_SNAP_ROTATION:
        snapped = np.eye(2, 3, dtype=np.float64)
        snapped[:, 2] = np.round(matrix[:, 2])
        found.append(snapped)
    found.append(None)
    return found


def _closest(board: Image, reference: Image, candidates: list[np.ndarray | None]) -> Image:
    """The reference moved by the candidate that leaves the fewest pixels differing clearly from ``board``."""
    best: tuple[int, Image] | None = None
    height, width = board.shape[:2]
    for matrix in candidates:
        moved = (
            reference
            if matrix is None
            else cv2.warpAffine(
                reference, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
        )
        differing = int(np.count_nonzero(cv2.absdiff(board, moved) > CLEAR_DIFFERENCE))
        if best is None or differing < best[0]:
            best = (differing, np.asarray(moved, dtype=np.uint8))
    assert best is not None
    return best[1]


def _signature(image: Image) -> np.ndarray:
    small = cv2.resize(grey(image), (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA).astype(np.float32)
    small -= small.mean()
    norm = float(np.linalg.norm(small))
    return np.asarray((small / norm if norm > 0 else small).ravel(), dtype=np.float32)


# A reference built from several good images keeps its tolerance band beside it (template detector).
BAND_SUFFIXES = (".low.png", ".high.png")


class References:
    def __init__(
        self, images: list[tuple[str, Image]], paths: list[Path] | None = None, alignment: Alignment = "euclidean"
    ) -> None:
        if not images:
            raise ConfigError("no reference images given")
        self.names = [name for name, _ in images]
        self.images = [grey(image) for _, image in images]
        self.paths: list[Path | None] = list(paths) if paths is not None else [None] * len(images)
        self.alignment = alignment
        self._signatures = np.stack([_signature(image) for image in self.images])
        self._prepared: dict[int, Prepared] = {}

    @classmethod
    def load(cls, path: Path, alignment: Alignment = "euclidean") -> References:
        files = [file for file in list_images(path) if not file.name.endswith(BAND_SUFFIXES)]
        if not files:
            raise ConfigError(f"reference {path}: no such image, or no images in that folder or pattern")
        images = []
        for file in files:
            image = read_image(file)
            if image is None:
                raise ConfigError(f"reference {file}: not a readable image")
            images.append((file.name, image))
        return cls(images, files, alignment)

    def nearest(self, image: Image) -> int:
        """Index of the reference most like ``image`` (normalised correlation of thumbnails)."""
        if len(self.images) == 1:
            return 0
        return int(np.argmax(self._signatures @ _signature(image)))

    def aligned(self, index: int, board: Image) -> Image:
        """Reference ``index`` registered onto ``board`` (grey), with the recipe's alignment."""
        reference = self.images[index]
        if self.alignment != "none" and reference.shape == board.shape and index not in self._prepared:
            self._prepared[index] = Prepared.of(reference)
        return aligned_reference(board, reference, self.alignment, self._prepared.get(index))

    def stack(self, image: Image) -> tuple[int, Image]:
        """The nearest reference's index, and ``image`` stacked with it, registered to it first."""
        board = grey(image)  # once, for the choice, the registration and the stack
        index = self.nearest(board)
        return index, stack_with_reference(board, self.aligned(index, board))
