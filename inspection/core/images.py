"""Image files: listing them (folders, globs) and reading them safely. The size is read from the header
and refused before decoding when it is over the limit, and a file cut short (no PNG IEND chunk, no JPEG
end-of-image marker) or empty is unreadable, never inspected as if it were whole (OpenCV decodes a
truncated JPEG with a grey tail and a warning, and the detector then finds defects in the missing part)."""

from __future__ import annotations

import glob
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PilImage
from PIL import UnidentifiedImageError

from inspection.core.errors import StationError
from inspection.core.types import Image

DEFAULT_MAX_IMAGE_PIXELS = 50_000_000  # 50 megapixels: above the sensors of common area cameras
_TAIL_BYTES = 4096
_PNG_END = b"IEND\xaeB`\x82"
_JPEG_END = b"\xff\xd9"


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


class UnreadableImageError(StationError):
    """An image file that cannot be inspected: empty, cut short, not an image, or too large."""


def check_image_file(path: Path, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> tuple[int, int]:
    """Width and height from the file's header, or ``UnreadableImageError`` saying why it cannot be used.
    Reads the header and the last few kilobytes only."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableImageError(f"{path}: cannot read the image ({exc.strerror})") from None
    if size == 0:
        raise UnreadableImageError(f"{path}: empty file (0 bytes)")
    width, height, kind = _header(path)
    if width * height > max_pixels:
        raise UnreadableImageError(
            f"{path}: {width} x {height} pixels ({width * height / 1e6:.0f} MP) is over the limit of "
            f"{max_pixels / 1e6:g} MP (the camera's max_image_pixels), not decoded"
        )
    _check_complete(path, size, kind)
    return width, height


def load_image(path: Path, grayscale: bool = False, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Image:
    """Decode a checked image keeping mono images mono (16-bit scaled to 8); ``UnreadableImageError``
    with the reason otherwise."""
    check_image_file(path, max_pixels)
    flags = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_UNCHANGED
    image = cv2.imread(str(path), flags)
    if image is None:
        raise UnreadableImageError(f"{path}: the image data cannot be decoded (corrupt file)")
    if image.dtype != "uint8":
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1.0, float(image.max())))
    return np.asarray(image, dtype=np.uint8)


def read_image(path: Path, grayscale: bool = False, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Image | None:
    """``load_image``, or None when the file cannot be used (for callers that skip such files)."""
    try:
        return load_image(path, grayscale, max_pixels)
    except UnreadableImageError:
        return None


def _header(path: Path) -> tuple[int, int, str]:
    """Width, height and format (PIL's name: PNG, JPEG, BMP, TIFF, WEBP, ...) from the header."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PilImage.DecompressionBombWarning)
            with PilImage.open(path) as image:  # reads the header only
                return int(image.width), int(image.height), str(image.format)
    except PilImage.DecompressionBombError as exc:
        raise UnreadableImageError(f"{path}: far over any image size limit ({exc}), not decoded") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableImageError(f"{path}: not a readable image ({exc})") from None
    except ImportError:  # ultralytics patches PIL's open to try a HEIF plug-in on failure, and it is absent
        raise UnreadableImageError(f"{path}: not a readable image (not a known image format)") from None


def _check_complete(path: Path, size: int, kind: str) -> None:
    if kind not in ("PNG", "JPEG"):
        return
    with path.open("rb") as handle:
        handle.seek(max(0, size - _TAIL_BYTES))
        tail = handle.read()
    if kind == "PNG" and _PNG_END not in tail:
        raise UnreadableImageError(f"{path}: the PNG file is cut short (no IEND chunk)")
    if kind == "JPEG" and not tail.rstrip(b"\x00\r\n ").endswith(_JPEG_END):
        raise UnreadableImageError(f"{path}: the JPEG file is cut short (no end-of-image marker)")
