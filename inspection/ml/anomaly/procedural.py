"""Procedural images for pre-training the anomaly model's trunk: no dataset, so no licence and nothing from
outside. Each is one of: 1/f noise (random slope, sometimes stretched along a direction: grain, brushed
metal, wood), dead leaves (overlapping discs, boxes and triangles of random shades: occlusions, edges,
corners), gratings (periodic texture, sometimes hard-edged: weave, mesh) with noise, lines and polylines
over noise (scratches, fibres, cracks), and gratings cut by dead leaves. "Learning to see by looking at
noise" (Baradad et al., 2021) found such images teach a network useful first features.

Numpy and OpenCV; every image is grey, 0..1, ``SIZE`` pixels square.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

Grey = npt.NDArray[np.float32]
SIZE = 96


def _spread(image: np.ndarray) -> Grey:
    low, high = np.percentile(image, (1, 99))
    spread: Grey = np.clip((image - low) / (high - low + 1e-6), 0.0, 1.0).astype(np.float32)
    return spread


def spectral_noise(rng: np.random.Generator, size: int = SIZE) -> Grey:
    """Noise whose spectrum falls as 1/f^alpha (alpha 1-3), isotropic or stretched along a random direction."""
    alpha = rng.uniform(1.0, 3.0)
    fx, fy = np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :]
    angle, stretch = rng.uniform(0, np.pi), (rng.uniform(1, 4) if rng.random() < 0.4 else 1.0)
    along, across = fx * np.cos(angle) + fy * np.sin(angle), -fx * np.sin(angle) + fy * np.cos(angle)
    frequency = np.sqrt((along * stretch) ** 2 + across**2) + 1e-3
    spectrum = (rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))) / frequency**alpha
    noise = np.real(np.fft.ifft2(spectrum))
    standard: Grey = ((noise - noise.mean()) / (noise.std() + 1e-6)).astype(np.float32)
    return standard


def dead_leaves(rng: np.random.Generator, size: int = SIZE) -> Grey:
    """Overlapping discs, boxes and triangles of random shades and sizes (small ones more often)."""
    image = np.full((size, size), rng.uniform(0, 1), np.float32)
    for _ in range(rng.integers(20, 120)):
        radius = int(size * rng.uniform(0.02, 0.25) ** 1.5 * 2) + 1
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        shade, kind = float(rng.uniform(0, 1)), rng.integers(3)
        if kind == 0:
            cv2.circle(image, centre, radius, shade, -1)
        elif kind == 1:
            corner = (centre[0] + radius, centre[1] + int(radius * rng.uniform(0.3, 3)))
            cv2.rectangle(image, centre, corner, shade, -1)
        else:
            points = (np.array(centre) + rng.integers(-radius, radius + 1, (3, 2))).astype(np.int32)
            cv2.fillPoly(image, [points], shade)
    return image


def gratings(rng: np.random.Generator, size: int = SIZE) -> Grey:
    """One to three sine gratings of random direction and period; half of them hard-edged."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    image = np.zeros((size, size), np.float32)
    for _ in range(rng.integers(1, 4)):
        angle, frequency = rng.uniform(0, np.pi), rng.uniform(0.03, 0.4)
        phase = (x * np.cos(angle) + y * np.sin(angle)) * frequency * 2 * np.pi + rng.uniform(0, 6)
        image += np.sin(phase).astype(np.float32)
    return np.sign(image) if rng.random() < 0.5 else image


def lines(rng: np.random.Generator, base: Grey) -> Grey:
    """``base`` with 1-11 polylines of random shades and widths drawn over it."""
    image, size = base.copy(), base.shape[0]
    for _ in range(rng.integers(1, 12)):
        points = np.array([rng.integers(0, size, 2) for _ in range(rng.integers(2, 5))], np.int32)
        shade = float(rng.uniform(image.min(), image.max() + 1e-3))
        cv2.polylines(image, [points], False, shade, int(rng.integers(1, 4)))
    return image


def _noise_only(rng: np.random.Generator) -> Grey:
    return _spread(spectral_noise(rng))


def _leaves(rng: np.random.Generator) -> Grey:
    leaves = dead_leaves(rng)
    return leaves + 0.15 * _spread(spectral_noise(rng)) if rng.random() < 0.5 else leaves


def _textured(rng: np.random.Generator) -> Grey:
    return _spread(gratings(rng) + rng.uniform(0, 1.5) * spectral_noise(rng))


def _scratched(rng: np.random.Generator) -> Grey:
    return lines(rng, _spread(spectral_noise(rng)) * rng.uniform(0.2, 1))


def _cut(rng: np.random.Generator) -> Grey:
    return _spread(dead_leaves(rng) * gratings(rng) + 0.3 * spectral_noise(rng))


KINDS: tuple[Callable[[np.random.Generator], Grey], ...] = (_noise_only, _leaves, _textured, _scratched, _cut)


def procedural_image(rng: np.random.Generator) -> Grey:
    """One image of a kind drawn at random, blurred half the time, spread to 0..1."""
    image = KINDS[rng.integers(len(KINDS))](rng)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 2.0))
    return _spread(image)
