"""Camera calibration: intrinsics and lens distortion from views of a board, with every bad view named.

A view is refused when the board is not found, when it is blurred (its edges wider than
``max_edge_px``), or when the board is too small in it; a set is refused when fewer than ``min_views``
views are usable or when together they cover too little of the image (the distortion far from the
centre would be guessed, not measured). The result is saved per camera (serial) with its date and
board, and gives the maps that undistort the camera's frames.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from calibration.boards import Board, Found, edge_width_px, find_board

Image = npt.NDArray[np.uint8]


class CalibrationError(ValueError):
    """Calibration cannot be done with these views (the message names the bad ones and why)."""


@dataclass(frozen=True)
class CalibrationLimits:
    min_views: int = 6
    max_edge_px: float = 4.0  # wider edges: the view is blurred
    min_board_fraction: float = 0.02  # the board's share of the image, below which a view is too small
    min_coverage: float = 0.4  # share of the image that the boards' corners cover, all views together


@dataclass
class CameraCalibration:
    camera: str  # serial number (or name) of the camera
    board: str  # Board.describe()
    image_size: tuple[int, int]  # width, height
    matrix: list[list[float]]  # 3 x 3: fx 0 cx / 0 fy cy / 0 0 1
    distortion: list[float]  # k1 k2 p1 p2 k3
    rms_px: float  # reprojection error over every corner of every used view
    per_image_px: dict[str, float]  # reprojection error (RMS) of each used view
    rejected: dict[str, str] = field(default_factory=dict)  # view -> why it was not used
    coverage: float = 0.0
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    mm_per_px: float | None = None  # scale on the inspection plane, when measured

    @property
    def camera_matrix(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.matrix, np.float64)

    @property
    def dist_coeffs(self) -> npt.NDArray[np.float64]:
        return np.asarray(self.distortion, np.float64)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(asdict(self), indent=2) + "\n")
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> CameraCalibration:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            data["image_size"] = tuple(data["image_size"])
            return cls(**data)
        except FileNotFoundError:
            raise CalibrationError(
                f"{path}: no such calibration file; make one with 'inspection calibrate camera'"
            ) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise CalibrationError(f"{path}: not a camera calibration file ({exc})") from None

    def undistorter(self) -> Undistorter:
        return Undistorter(self)


class Undistorter:
    """Removes the lens distortion from frames of the calibrated size (maps computed once)."""

    def __init__(self, calibration: CameraCalibration) -> None:
        width, height = calibration.image_size
        self.size = (width, height)
        self.map_x, self.map_y = cv2.initUndistortRectifyMap(
            calibration.camera_matrix, calibration.dist_coeffs, None, calibration.camera_matrix, self.size, cv2.CV_16SC2
        )

    def __call__(self, image: Image) -> Image:
        if (image.shape[1], image.shape[0]) != self.size:
            raise CalibrationError(
                f"frame is {image.shape[1]}x{image.shape[0]} but the calibration is for {self.size[0]}x{self.size[1]}; "
                "calibrate the camera at the resolution it runs at"
            )
        return np.asarray(cv2.remap(image, self.map_x, self.map_y, cv2.INTER_LINEAR), np.uint8)


def _check_view(name: str, image: Image, board: Board, limits: CalibrationLimits) -> Found | str:
    """The board found in a view, or why the view cannot be used."""
    found = find_board(image, board)
    if found is None:
        return "board not found"
    width = edge_width_px(image, found)
    if width > limits.max_edge_px:
        return f"blurred (edges {width:.1f} px wide, limit {limits.max_edge_px:g})"
    share = found.hull_area() / float(image.shape[0] * image.shape[1])
    if share < limits.min_board_fraction:
        return f"board too small ({share:.1%} of the image, limit {limits.min_board_fraction:.0%})"
    return found


def _coverage(views: list[Found], size: tuple[int, int]) -> float:
    """Share of a coarse grid over the image that some view's board covers."""
    width, height = size
    cells = np.zeros((8, 8), bool)
    for view in views:
        mask = np.zeros((height, width), np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(view.image_points.astype(np.int32)), 1)
        small = cv2.resize(mask, (8, 8), interpolation=cv2.INTER_AREA)
        cells |= small > 0
    return float(cells.mean())


def calibrate(
    views: list[tuple[str, Image]], board: Board, camera: str, limits: CalibrationLimits = CalibrationLimits()
) -> CameraCalibration:
    """Calibrate from named views of ``board``; ``CalibrationError`` names every unusable view."""
    if not views:
        raise CalibrationError("no calibration images given")
    sizes = {(image.shape[1], image.shape[0]) for _, image in views}
    if len(sizes) > 1:
        raise CalibrationError(f"the images differ in size ({sorted(sizes)}); use views from one camera setting")
    size = sizes.pop()
    usable: dict[str, Found] = {}
    rejected: dict[str, str] = {}
    for name, image in views:
        result = _check_view(name, image, board, limits)
        if isinstance(result, str):
            rejected[name] = result
        else:
            usable[name] = result
    if len(usable) < limits.min_views:
        reasons = "; ".join(f"{name}: {why}" for name, why in rejected.items())
        raise CalibrationError(
            f"only {len(usable)} usable view(s) of {len(views)}, at least {limits.min_views} needed"
            + (f" ({reasons})" if reasons else "")
            + "; take more views of the whole board, sharp, at different angles and positions"
        )
    coverage = _coverage(list(usable.values()), size)
    if coverage < limits.min_coverage:
        raise CalibrationError(
            f"the views cover only {coverage:.0%} of the image (at least {limits.min_coverage:.0%} needed); "
            "add views with the board near the corners and edges of the image"
        )
    names = list(usable)
    object_points = [usable[n].object_points for n in names]
    image_points = [usable[n].image_points.reshape(-1, 1, 2) for n in names]
    rms, matrix, distortion, rvecs, tvecs = cv2.calibrateCamera(object_points, image_points, size, None, None)
    per_image = {}
    for name, obj, img, rvec, tvec in zip(names, object_points, image_points, rvecs, tvecs, strict=True):
        projected, _ = cv2.projectPoints(obj, rvec, tvec, matrix, distortion)
        per_image[name] = round(float(np.sqrt(np.mean(np.sum((projected - img) ** 2, axis=2)))), 4)
    return CameraCalibration(
        camera=camera,
        board=board.describe(),
        image_size=size,
        matrix=np.asarray(matrix).tolist(),
        distortion=np.asarray(distortion).ravel().tolist(),
        rms_px=round(float(rms), 4),
        per_image_px=per_image,
        rejected=rejected,
        coverage=round(coverage, 3),
    )
