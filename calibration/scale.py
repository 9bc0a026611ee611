"""Millimetres per pixel on the inspection plane.

Three ways, from the most to the least direct: a board lying on the inspection plane (its squares are
a ruler), a feature of known length, or the calibration's focal length and the working distance
(pinhole camera looking square onto the plane). A telecentric lens or a line-scan camera (DeepPCB's
boards are about 48 px/mm) has one scale everywhere; an entocentric lens only where the board lay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calibration.boards import Board, find_board
from calibration.camera import CalibrationError, CameraCalibration


@dataclass(frozen=True)
class Scale:
    mm_per_px: float
    spread: float = 0.0  # (max - min) / mean of the local scales measured; 0 when only one was

    @property
    def px_per_mm(self) -> float:
        return 1.0 / self.mm_per_px


def from_length(length_px: float, length_mm: float) -> Scale:
    if length_px <= 0 or length_mm <= 0:
        raise CalibrationError("a known length needs a positive size in pixels and in millimetres")
    return Scale(length_mm / length_px)


def from_working_distance(calibration: CameraCalibration, distance_mm: float) -> Scale:
    """Scale at the image centre of a pinhole camera looking square onto a plane ``distance_mm`` away."""
    if distance_mm <= 0:
        raise CalibrationError("the working distance must be positive (millimetres from the lens to the part)")
    matrix = calibration.camera_matrix
    focal_px = (matrix[0, 0] + matrix[1, 1]) / 2.0
    return Scale(distance_mm / focal_px)


def from_board(image: npt.NDArray[np.uint8], board: Board, calibration: CameraCalibration | None = None) -> Scale:
    """Scale from a board on the inspection plane: the mean length of its squares' sides in pixels
    (in the undistorted image when a calibration is given). ``spread`` shows a tilted board."""
    if calibration is not None:
        image = calibration.undistorter()(image)
    found = find_board(image, board)
    if found is None:
        raise CalibrationError(f"board {board.describe()} not found in the image; show the whole board, sharp")
    objects = found.object_points[:, :2].astype(np.float64)
    pixels = found.image_points.astype(np.float64)
    steps = np.linalg.norm(objects[:, None, :] - objects[None, :, :], axis=2)
    first, second = np.nonzero(np.triu(np.isclose(steps, board.square_mm, rtol=1e-3)))
    if len(first) == 0:
        raise CalibrationError("too few board corners found to measure a square")
    lengths = np.linalg.norm(pixels[first] - pixels[second], axis=1)
    local = board.square_mm / lengths
    return Scale(float(local.mean()), float((local.max() - local.min()) / local.mean()))
