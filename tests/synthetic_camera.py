"""Render what a pinhole camera with lens distortion sees of a flat printed target: exact geometry, so
calibration and measurement can be checked against the numbers the views were made with."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

SIZE = (640, 480)
MATRIX = np.array([[820.0, 0.0, 331.0], [0.0, 815.0, 236.5], [0.0, 0.0, 1.0]])
DISTORTION = np.array([-0.28, 0.12, 0.0008, -0.0006, 0.0])
SUPERSAMPLE = 2


@dataclass(frozen=True)
class Target:
    """A printed image lying on the plane z = 0: pixel (u, v) is at ((u + 0.5) / px_per_mm - origin_mm, ...)."""

    image: npt.NDArray[np.uint8]
    px_per_mm: float
    origin_mm: float  # where the target's own (0, 0) lies in from the image's corner (its margin)


def pose(angles_deg: tuple[float, float, float], distance_mm: float, centre_mm: tuple[float, float]) -> tuple:
    """Rotation and translation that put the target point ``centre_mm`` on the optical axis at ``distance_mm``."""
    rvec = np.radians(np.asarray(angles_deg, float)).reshape(3, 1)  # a rotation vector, near Euler angles
    rotation = cv2.Rodrigues(rvec)[0]
    tvec = np.array([0.0, 0.0, distance_mm]) - rotation @ np.array([centre_mm[0], centre_mm[1], 0.0])
    return rvec, tvec


def render(
    target: Target,
    rvec: npt.NDArray[np.float64],
    tvec: npt.NDArray[np.float64],
    matrix: npt.NDArray[np.float64] = MATRIX,
    distortion: npt.NDArray[np.float64] = DISTORTION,
    size: tuple[int, int] = SIZE,
) -> npt.NDArray[np.uint8]:
    """The camera's image of ``target`` at pose (rvec, tvec), supersampled against aliasing."""
    width, height = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    pixels = np.stack([(xs + 0.5) / SUPERSAMPLE - 0.5, (ys + 0.5) / SUPERSAMPLE - 0.5], -1)
    normalised = cv2.undistortPoints(pixels.reshape(-1, 1, 2), matrix, distortion).reshape(-1, 2)
    rotation = cv2.Rodrigues(rvec)[0]
    plane_to_ray = np.column_stack([rotation[:, 0], rotation[:, 1], np.asarray(tvec, float).ravel()])
    rays = np.column_stack([normalised, np.ones(len(normalised))])
    plane = rays @ np.linalg.inv(plane_to_ray).T
    plane = plane[:, :2] / plane[:, 2:3]
    u = ((plane[:, 0] + target.origin_mm) * target.px_per_mm - 0.5).reshape(height, width).astype(np.float32)
    v = ((plane[:, 1] + target.origin_mm) * target.px_per_mm - 0.5).reshape(height, width).astype(np.float32)
    big = cv2.remap(target.image, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=200)
    return np.asarray(cv2.resize(big, size, interpolation=cv2.INTER_AREA), np.uint8)
