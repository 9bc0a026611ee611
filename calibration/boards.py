"""Calibration targets: chessboards and ChArUco boards, their geometry, detection and printable image.

A board is given by its squares (columns x rows) and the side of one square in millimetres; a ChArUco
board also by its marker side and ArUco dictionary. Written as text: ``chessboard:9x6:25`` or
``charuco:7x5:30:22:DICT_4X4_50`` (kind, squares, square mm[, marker mm, dictionary]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from calibration.greyscale import grey

Points = npt.NDArray[np.float32]


class BoardError(ValueError):
    """A board description that cannot be used."""


@dataclass(frozen=True)
class Board:
    kind: Literal["chessboard", "charuco"]
    columns: int  # squares across
    rows: int  # squares down
    square_mm: float
    marker_mm: float | None = None  # ChArUco only
    dictionary: str = "DICT_4X4_50"  # ChArUco only

    @classmethod
    def parse(cls, text: str) -> Board:
        """``chessboard:COLSxROWS:SQUARE_MM`` or ``charuco:COLSxROWS:SQUARE_MM:MARKER_MM[:DICTIONARY]``."""
        parts = text.split(":")
        try:
            kind = parts[0]
            columns, rows = (int(v) for v in parts[1].lower().split("x"))
            square = float(parts[2])
            if kind == "chessboard" and len(parts) == 3:
                return cls("chessboard", columns, rows, square).checked()
            if kind == "charuco" and len(parts) in (4, 5):
                dictionary = parts[4] if len(parts) == 5 else "DICT_4X4_50"
                return cls("charuco", columns, rows, square, float(parts[3]), dictionary).checked()
        except (IndexError, ValueError):
            pass
        raise BoardError(
            f"board {text!r}: write chessboard:COLSxROWS:SQUARE_MM (e.g. chessboard:9x6:25) or "
            "charuco:COLSxROWS:SQUARE_MM:MARKER_MM[:DICTIONARY] (e.g. charuco:7x5:30:22:DICT_4X4_50); "
            "COLS and ROWS count squares"
        )

    def checked(self) -> Board:
        if self.columns < 3 or self.rows < 3:
            raise BoardError(f"board {self}: needs at least 3 x 3 squares")
        if self.square_mm <= 0:
            raise BoardError("board: the square size must be positive (millimetres)")
        if self.kind == "charuco":
            if self.marker_mm is None or not 0 < self.marker_mm < self.square_mm:
                raise BoardError("board: a ChArUco marker must be smaller than its square")
            if not hasattr(cv2.aruco, self.dictionary):
                raise BoardError(f"board: unknown ArUco dictionary {self.dictionary!r} (e.g. DICT_4X4_50)")
        return self

    def describe(self) -> str:
        text = f"{self.kind}:{self.columns}x{self.rows}:{self.square_mm:g}"
        return text + (f":{self.marker_mm:g}:{self.dictionary}" if self.kind == "charuco" else "")

    @property
    def inner_corners(self) -> tuple[int, int]:
        return self.columns - 1, self.rows - 1

    def corner_points(self) -> Points:
        """Every inner corner on the board plane (z = 0), in mm, row by row: what OpenCV numbers."""
        cols, rows = self.inner_corners
        grid = np.zeros((rows * cols, 3), np.float32)
        grid[:, :2] = np.mgrid[1 : cols + 1, 1 : rows + 1].T.reshape(-1, 2) * self.square_mm
        return grid

    def charuco(self) -> Any:
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        marker = self.marker_mm if self.marker_mm is not None else self.square_mm * 0.75
        return cv2.aruco.CharucoBoard((self.columns, self.rows), self.square_mm, marker, dictionary)

    def image(self, px_per_mm: float, margin_mm: float = 0.0) -> npt.NDArray[np.uint8]:
        """The board as a printable image (white margin around it), ``px_per_mm`` pixels per millimetre."""
        square = self.square_mm * px_per_mm
        width, height = round(self.columns * square), round(self.rows * square)
        if self.kind == "charuco":
            inner = np.asarray(self.charuco().generateImage((width, height), marginSize=0, borderBits=1), np.uint8)
        else:
            ys, xs = np.mgrid[0:height, 0:width]
            dark = ((xs // square).astype(int) + (ys // square).astype(int)) % 2 == 0
            inner = np.where(dark, 0, 255).astype(np.uint8)
        margin = round(margin_mm * px_per_mm)
        return np.asarray(cv2.copyMakeBorder(inner, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=255))


@dataclass(frozen=True)
class Found:
    """A board seen in an image: matched image points (N x 2) and board points (N x 3, mm)."""

    image_points: Points
    object_points: Points

    def hull_area(self) -> float:
        hull = cv2.convexHull(self.image_points.reshape(-1, 1, 2))
        return float(cv2.contourArea(hull))


def find_board(image: npt.NDArray[np.uint8], board: Board) -> Found | None:
    """The board's corners in ``image`` (grey or BGR), refined to sub-pixel; None when not found."""
    mono = grey(image)
    if board.kind == "chessboard":
        flags = cv2.CALIB_CB_EXHAUSTIVE | cv2.CALIB_CB_ACCURACY | cv2.CALIB_CB_NORMALIZE_IMAGE
        ok, corners = cv2.findChessboardCornersSB(mono, board.inner_corners, flags=flags)
        if not ok:
            return None
        return Found(np.asarray(corners, np.float32).reshape(-1, 2), board.corner_points())
    detector = cv2.aruco.CharucoDetector(board.charuco())
    corners, ids, _markers, _marker_ids = detector.detectBoard(mono)
    if ids is None or len(ids) < 6:  # too few corners to constrain a view
        return None
    object_points = np.asarray(board.charuco().getChessboardCorners(), np.float32)[ids.ravel()]
    return Found(np.asarray(corners, np.float32).reshape(-1, 2), object_points)


def edge_width_px(image: npt.NDArray[np.uint8], found: Found) -> float:
    """How wide the board's black-white edges are, in pixels (about 2 when sharp; blur widens them)."""
    mono = grey(image)
    mask = np.zeros(mono.shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(found.image_points.astype(np.int32)), 255)
    inside = mask > 0
    values = mono[inside].astype(np.float32)
    contrast = float(np.percentile(values, 95) - np.percentile(values, 5))
    gx = cv2.Sobel(mono, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(mono, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    steepest = float(np.percentile(np.hypot(gx, gy)[inside], 99.5))
    return contrast / steepest if steepest > 0 else float("inf")
