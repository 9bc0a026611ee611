"""Golden-template comparison: what differs from the good part, beyond its normal variation.

A template is the good part's image plus a tolerance band (``low``..``high`` per pixel). From one good
image the band is the image's local minimum and maximum over ``edge_px`` pixels, so that edges which
move by a fraction of a pixel (registration, binarisation noise) are not differences. From several good
images, registered to the first, the template is their median and the band their per-pixel range,
widened the same way. An inspected image is registered to the template; pixels outside the band by more
than ``tolerance`` grey levels are differences; differences close together form one region.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from calibration.greyscale import grey
from calibration.registration import Motion, Prepared, Registration, register

Grey = npt.NDArray[np.uint8]
Polarity = Literal["extra", "missing"]  # more or less of the foreground (e.g. copper) than the good part


@dataclass(frozen=True)
class TemplateSettings:
    foreground: Literal["dark", "bright"] = "dark"  # the material whose extra or missing pixels are defects
    tolerance: int = 60  # grey levels beyond the band before a pixel differs
    edge_px: int = 1  # edge movement the band absorbs
    min_area_px: int = 12  # smaller difference regions are noise
    merge_px: int = 4  # differences closer than this form one region
    motion: Motion = "euclidean"
    finest_level: int = 1  # registration refined down to this pyramid level (1: half resolution, ~0.1 px)


@dataclass(frozen=True)
class Region:
    """One connected difference: its box (x1, y1, x2, y2, image pixels), area and polarity."""

    box: tuple[int, int, int, int]
    area_px: int
    polarity: Polarity


@dataclass(frozen=True)
class Comparison:
    registration: Registration
    aligned: Grey  # the template's median image on the inspected image's grid
    regions: list[Region]


def _grey(image: npt.NDArray[np.generic]) -> Grey:
    return np.asarray(grey(image), dtype=np.uint8)


def _widen(low: Grey, high: Grey, edge_px: int) -> tuple[Grey, Grey]:
    if edge_px <= 0:
        return low, high
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * edge_px + 1, 2 * edge_px + 1))
    return np.asarray(cv2.erode(low, kernel), np.uint8), np.asarray(cv2.dilate(high, kernel), np.uint8)


@dataclass(frozen=True)
class GoldenTemplate:
    image: Grey  # the good part (median of the good images)
    low: Grey  # per-pixel band the good part stays within
    high: Grey

    @classmethod
    def from_image(cls, image: npt.NDArray[np.generic], edge_px: int = 1) -> GoldenTemplate:
        mono = _grey(image)
        low, high = _widen(mono, mono, edge_px)
        return cls(mono, low, high)

    @classmethod
    def from_images(
        cls, images: list[npt.NDArray[np.generic]], edge_px: int = 1, motion: Motion = "euclidean"
    ) -> GoldenTemplate:
        """Median and range of several good images, each registered to the first."""
        if not images:
            raise ValueError("no good images to build a template from")
        anchor = _grey(images[0])
        aligned = [anchor]
        for other in images[1:]:
            other_grey = _grey(other)
            # Maps the other image onto the anchor: register the anchor-as-image to it.
            moved = register(anchor, other_grey, motion).warp(other_grey, anchor.shape)
            aligned.append(np.asarray(moved, np.uint8))
        stack = np.stack(aligned)
        median = np.asarray(np.median(stack, axis=0), dtype=np.uint8)
        low, high = _widen(stack.min(axis=0).astype(np.uint8), stack.max(axis=0).astype(np.uint8), edge_px)
        return cls(median, low, high)

    @cached_property
    def prepared(self) -> Prepared:
        """The good part made ready for registration once, for every part compared with it."""
        return Prepared.of(self.image)

    @cached_property
    def blank(self) -> bool:
        return self.prepared.blank

    def compare(self, image: npt.NDArray[np.generic], settings: TemplateSettings = TemplateSettings()) -> Comparison:
        part = _grey(image)
        registration = Registration.identity()  # nothing to align on (an empty area): the fixture holds it
        if not self.blank:
            prepared = Prepared.of(part)  # once, for the blank check and the registration
            if not prepared.blank:
                registration = register(prepared, self.prepared, settings.motion, finest=settings.finest_level)
        aligned, low, high = (
            np.asarray(registration.warp(layer, part.shape), np.uint8) for layer in (self.image, self.low, self.high)
        )
        tol = settings.tolerance
        covered = _covered(registration, self.image.shape, part.shape, settings.edge_px + 1)
        # Saturating uint8 arithmetic: a band edge pushed past 0 or 255 is one no pixel can cross.
        darker = covered & (part < cv2.subtract(low, tol))
        brighter = covered & (part > cv2.add(high, tol))
        extra, missing = (darker, brighter) if settings.foreground == "dark" else (brighter, darker)
        regions = _regions(extra, "extra", settings) + _regions(missing, "missing", settings)
        return Comparison(registration, aligned, regions)


def _covered(
    registration: Registration, template_shape: tuple[int, ...], shape: tuple[int, ...], margin: int
) -> npt.NDArray[np.bool_]:
    """Pixels of the inspected image that the moved template covers, ``margin`` pixels in from its
    edge: beyond it there is nothing to compare with (a part shifted in the fixture)."""
    height, width = shape[:2]
    inside = np.full(template_shape[:2], 255, np.uint8)
    moved = cv2.warpAffine(inside, registration.matrix, (width, height), flags=cv2.INTER_NEAREST, borderValue=0)
    moved[[0, -1], :] = 0  # the image's own edge: interpolation there repeats the last pixel
    moved[:, [0, -1]] = 0
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    return np.asarray(cv2.erode(moved, kernel) > 0)


def _regions(mask: npt.NDArray[np.bool_], polarity: Polarity, settings: TemplateSettings) -> list[Region]:
    """Connected differences of one polarity, nearby pieces joined, specks dropped."""
    pixels = mask.astype(np.uint8) * 255
    # One-pixel specks and slivers along edges are noise, not defects.
    # (An opening by a 2x2 square; the anchors are explicit because OpenCV's default anchor for an even
    # kernel shifts the result by a pixel.)
    square = np.ones((2, 2), np.uint8)
    pixels = cv2.dilate(cv2.erode(pixels, square, anchor=(0, 0)), square, anchor=(1, 1))
    joined = pixels
    if settings.merge_px > 0:
        size = 2 * settings.merge_px + 1
        joined = cv2.dilate(pixels, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    count, labels = cv2.connectedComponents(joined, connectivity=8)
    if count <= 1:
        return []
    # Each region's own pixels (not the joining halo): their count and extent, per label in one pass.
    # OpenCV lists the few set pixels of a whole image 40x faster than numpy's nonzero.
    xs, ys = np.asarray(cv2.findNonZero(pixels), np.int64).reshape(-1, 2).T
    owner = labels[ys, xs]
    area = np.bincount(owner, minlength=count)
    low_x, low_y = np.full(count, pixels.shape[1]), np.full(count, pixels.shape[0])
    high_x, high_y = np.full(count, -1), np.full(count, -1)
    np.minimum.at(low_x, owner, xs)
    np.minimum.at(low_y, owner, ys)
    np.maximum.at(high_x, owner, xs)
    np.maximum.at(high_y, owner, ys)
    return [
        Region(
            (int(low_x[label]), int(low_y[label]), int(high_x[label]) + 1, int(high_y[label]) + 1),
            int(area[label]),
            polarity,
        )
        for label in range(1, count)
        if area[label] >= settings.min_area_px
    ]
