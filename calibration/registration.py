"""Register an inspected image to a reference image of the good part.

A fixtured part moves little: a shift of up to a fraction of the image, a rotation of a few degrees,
a scale change of a few percent. Phase correlation finds the shift (robust to binarised images and to
the defects themselves); the enhanced correlation coefficient (ECC, Evangelidis & Psarakis 2008),
coarse to fine on blurred images, then refines a similarity or affine warp to a small fraction of a
pixel. The result maps reference coordinates onto image coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from calibration.greyscale import grey

FloatImage = npt.NDArray[np.float32]
Motion = Literal["translation", "euclidean", "affine"]

COARSE_FACTOR = 4  # the rotation search runs on images this many times smaller
_ECC_MOTION = {
    "translation": cv2.MOTION_TRANSLATION,
    "euclidean": cv2.MOTION_EUCLIDEAN,
    "affine": cv2.MOTION_AFFINE,
}


class RegistrationError(ValueError):
    """The images could not be registered (too different, or too little structure)."""


@dataclass(frozen=True)
class Registration:
    """``matrix`` (2x3) maps a reference pixel (x, y) to the same point in the inspected image."""

    matrix: npt.NDArray[np.float64]
    score: float  # ECC correlation after refinement, 1.0 = identical

    @classmethod
    def identity(cls) -> Registration:
        """No movement (score 0: not measured)."""
        return cls(np.eye(2, 3, dtype=np.float64), 0.0)

    @property
    def shift(self) -> tuple[float, float]:
        return float(self.matrix[0, 2]), float(self.matrix[1, 2])

    @property
    def angle_deg(self) -> float:
        """Rotation in OpenCV's convention (``cv2.getRotationMatrix2D``): positive is counter-clockwise
        as the image is shown (y down)."""
        return math.degrees(math.atan2(-self.matrix[1, 0], self.matrix[0, 0]))

    @property
    def scale(self) -> float:
        return math.sqrt(abs(float(np.linalg.det(self.matrix[:, :2]))))

    def map_points(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Reference points (N x 2) -> image points."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return np.asarray(pts @ self.matrix[:, :2].T + self.matrix[:, 2], dtype=np.float64)

    def warp(self, reference: npt.NDArray[np.generic], shape: tuple[int, ...]) -> npt.NDArray[np.generic]:
        """The reference resampled onto the inspected image's pixel grid (``shape``: the image's)."""
        height, width = shape[:2]
        return _warped(reference, self.matrix, (width, height))


def _warped(image: npt.NDArray[Any], matrix: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[Any]:
    """``image`` moved by ``matrix`` onto a ``size`` (width, height) grid; edges repeat outwards."""
    return np.asarray(cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))


def is_blank(image: npt.NDArray[np.generic]) -> bool:
    """Nothing to register on: (almost) one grey level all over."""
    values = image if image.dtype == np.float32 else _as_float(image)
    return float(values.std()) < 2.0 / 255.0


def _as_float(image: npt.NDArray[np.generic]) -> FloatImage:
    return np.asarray(grey(image), dtype=np.float32) / 255.0


def coarse_shift(image: FloatImage, reference: FloatImage) -> tuple[tuple[float, float], float]:
    """Translation (dx, dy) that moves ``reference`` onto ``image``, by windowed phase correlation,
    and the strength of the correlation peak."""
    window = cv2.createHanningWindow((image.shape[1], image.shape[0]), cv2.CV_32F)
    # Copies: OpenCV applies the window to its inputs in place.
    (dx, dy), response = cv2.phaseCorrelate(reference.copy(), image.copy(), window)
    return (float(dx), float(dy)), float(response)


def coarse_motion(
    image: Prepared, reference: Prepared, max_angle_deg: float, step_deg: float = 1.0
) -> npt.NDArray[np.float32]:
    """A rough rotation and shift (2x3, full resolution): the strongest phase-correlation peak over a
    grid of angles, on images ``COARSE_FACTOR`` times smaller. ECC then refines it."""
    small_img, small_ref = image.coarse, reference.coarse
    height, width = small_ref.shape
    centre = (width / 2.0, height / 2.0)
    best: tuple[float, float, tuple[float, float]] | None = None
    for angle in np.arange(-max_angle_deg, max_angle_deg + 1e-9, step_deg) if max_angle_deg > 0 else [0.0]:
        rotation = cv2.getRotationMatrix2D(centre, float(angle), 1.0)
        rotated = _warped(small_ref, rotation, (width, height))
        shift, response = coarse_shift(small_img, rotated)
        if best is None or response > best[0]:
            best = (response, float(angle), shift)
    assert best is not None
    _response, angle, (dx, dy) = best
    full = cv2.getRotationMatrix2D((reference.shape[1] / 2.0, reference.shape[0] / 2.0), angle, 1.0)
    full[:, 2] += (dx * COARSE_FACTOR, dy * COARSE_FACTOR)
    return np.asarray(full, dtype=np.float32)


@dataclass(frozen=True)
class Prepared:
    """An image made ready for registration: grey 0..1; its blurred pyramid levels are made when first
    asked for (``level``) and kept, so a part registered down to half resolution never blurs the full one.

    A reference that many parts are registered to (a recipe's good part) is prepared once."""

    full: FloatImage
    blur_sigma: float = 1.5
    _levels: dict[int, FloatImage] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, image: npt.NDArray[np.generic], blur_sigma: float = 1.5) -> Prepared:
        return cls(_as_float(image), blur_sigma)

    def level(self, factor: int) -> FloatImage:
        """The image ``factor`` times smaller, blurred (threads asking at once make the same array)."""
        found = self._levels.get(factor)
        if found is None:
            found = self._levels[factor] = _level(self.full, factor, self.blur_sigma)
        return found

    @cached_property
    def coarse(self) -> FloatImage:
        """For the phase-correlation search (its own, lighter blur)."""
        return _level(self.full, COARSE_FACTOR, 1.0)

    @cached_property
    def blank(self) -> bool:
        return is_blank(self.full)

    @property
    def shape(self) -> tuple[int, int]:
        height, width = self.full.shape
        return height, width


def register(
    image: npt.NDArray[np.generic] | Prepared,
    reference: npt.NDArray[np.generic] | Prepared,
    motion: Motion = "euclidean",
    levels: int = 3,
    blur_sigma: float = 1.5,
    min_score: float = 0.5,
    max_shift: float = 0.25,
    max_angle_deg: float = 5.0,
    finest: int = 0,
) -> Registration:
    """The warp that maps ``reference`` onto ``image`` (same size or not; grey or BGR, any depth; either
    may come made ready with ``Prepared.of``, e.g. a reference that many parts are registered to).

    ``motion``: translation, euclidean (shift + rotation) or affine (also scale and shear; its scale
    and angle are reported). Rotations of up to about 5 degrees and shifts of up to ``max_shift`` of
    the image's smaller side are found. A part with almost no structure (a nearly blank board) may not
    register at all: then the better of the coarse shift and no movement is kept, since a fixture
    holds the part. A pair whose best alignment correlates below ``min_score`` is refused. ``finest``: the
    last pyramid level refined (0: full resolution; 1: half, about 0.1 px and four times faster).
    """
    img = _prepared(image, blur_sigma)
    ref = _prepared(reference, blur_sigma)
    if ref.shape != img.shape:
        resized = cv2.resize(ref.full, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_AREA)
        ref = Prepared(np.asarray(resized, np.float32), blur_sigma)
    if img.blank or ref.blank:
        raise RegistrationError("an image is blank (no structure to register)")
    start = coarse_motion(img, ref, max_angle_deg if motion != "translation" else 0.0)
    centre = np.array([img.shape[1] / 2.0, img.shape[0] / 2.0])
    if math.hypot(*(start[:, :2] @ centre + start[:, 2] - centre)) > max_shift * min(img.shape):
        start = np.eye(2, 3, dtype=np.float32)  # a spurious peak: parts do not move that far in a fixture
    refined = _refine(img, ref, start, motion, levels, finest)
    still = np.eye(2, 3, dtype=np.float32)
    candidates = _distinct([start, still], refined, img.shape)
    # At full resolution: on coarser levels a periodic board can prefer a warp pixels off.
    scored = [(_correlation(img.level(1), ref.level(1), warp), index) for index, warp in enumerate(candidates)]
    score, best = max(scored)
    if score < min_score and _sparse(img.full) and _sparse(ref.full):
        # A few specks on an empty area (a board region with almost no copper): correlation says little
        # there, and the fixture holds the part.
        return Registration(still.astype(np.float64), _correlation(img.level(1), ref.level(1), still))
    if score < min_score:
        raise RegistrationError(f"the images do not align (correlation {score:.2f} < {min_score:.2f})")
    return Registration(candidates[best].astype(np.float64), float(score))


SPARSE_STD = 0.1  # grey 0..1: under 1% of the pixels differ from the background


def _sparse(image: FloatImage) -> bool:
    """Almost no structure to register on (but not blank): a few specks on an even background."""
    return float(image.std()) < SPARSE_STD


def _prepared(image: npt.NDArray[np.generic] | Prepared, blur_sigma: float) -> Prepared:
    """``image`` made ready for registration (a ``Prepared`` one is kept when its blur is the one asked for)."""
    if not isinstance(image, Prepared):
        return Prepared.of(image, blur_sigma)
    return image if image.blur_sigma == blur_sigma else Prepared(image.full, blur_sigma)


SAME_CENTRE_PX = 1.0  # warps that put the image's centre closer than this, and turn it by no more than
SAME_ANGLE_DEG = 1.0  # the coarse search's step more or less, lie in one basin of the correlation


def _distinct(
    others: list[npt.NDArray[np.float32]], refined: npt.NDArray[np.float32] | None, shape: tuple[int, int]
) -> list[npt.NDArray[np.float32]]:
    """The refined warp (first, when ECC converged) and those of ``others`` that lie in another basin than
    every warp kept before them. ECC climbed to the top of the basin it started in: a start it stayed near,
    or no movement when that is where it ended, is a rougher point of the same basin and is not scored
    again (on the 2,000 DeepPCB pairs and re-captures such a point never beat ECC's warp by more than
    0.0004 in correlation). A warp in another basin is (a periodic board can lure ECC pixels off)."""
    centre = np.array([shape[1] / 2.0, shape[0] / 2.0])

    def same_basin(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> bool:
        apart = np.abs((a[:, :2] - b[:, :2]) @ centre + a[:, 2] - b[:, 2]).max()
        turned = abs(math.degrees(math.atan2(a[1, 0], a[0, 0]) - math.atan2(b[1, 0], b[0, 0])))
        return bool(apart <= SAME_CENTRE_PX and turned <= SAME_ANGLE_DEG)

    kept: list[npt.NDArray[np.float32]] = [] if refined is None else [refined]
    for warp in others:
        if not any(same_basin(warp, k) for k in kept):
            kept.append(warp)
    return kept


def _at_factor(warp: npt.NDArray[np.float32], factor: int) -> npt.NDArray[np.float32]:
    """A full-resolution warp on images ``factor`` times smaller."""
    scaled = warp.copy()
    scaled[:, 2] /= factor
    return scaled


def _refine(
    img: Prepared, ref: Prepared, warp: npt.NDArray[np.float32], motion: Motion, levels: int, finest: int = 0
) -> npt.NDArray[np.float32] | None:
    """ECC, coarse to fine (down to level ``finest``), from ``warp``; None when the finest level does not
    converge."""
    warp = warp.copy()
    last = min(finest, levels - 1)
    for level in reversed(range(last, levels)):
        factor = 2**level
        # Coarser levels only bring the start of the next within its reach: they stop sooner.
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-5 if level == last else 1e-4)
        try:
            # ECC finds W with ref(W(x)) ~ img(x): W maps image coordinates to reference coordinates.
            inverse = cv2.invertAffineTransform(_at_factor(warp, factor)).astype(np.float32)
            _score, found = cv2.findTransformECC(
                img.level(factor), ref.level(factor), inverse, _ECC_MOTION[motion], criteria, None, 1
            )
            warp = cv2.invertAffineTransform(found).astype(np.float32)
            warp[:, 2] *= factor
        except cv2.error:
            if level == last:
                return None
    return warp


def _correlation(img: FloatImage, ref: FloatImage, warp: npt.NDArray[np.float32]) -> float:
    """Zero-mean normalised correlation of ``img`` and the warped ``ref`` (what ECC maximises)."""
    moved = _warped(ref, warp, (img.shape[1], img.shape[0]))
    a = img.ravel() - np.float32(img.mean())
    b = moved.ravel() - np.float32(moved.mean())
    norm = math.sqrt(float(np.dot(a, a)) * float(np.dot(b, b)))  # BLAS dot products: no temporaries
    return float(np.dot(a, b)) / norm if norm > 0 else 0.0


def _level(image: FloatImage, factor: int, blur_sigma: float) -> FloatImage:
    """A blurred (binarised edges become gradients ECC can follow), downscaled pyramid level."""
    if factor > 1:
        image = cv2.resize(image, (image.shape[1] // factor, image.shape[0] // factor), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.GaussianBlur(image, (0, 0), blur_sigma), dtype=np.float32)
