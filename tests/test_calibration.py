"""Camera calibration, undistortion and measurement in millimetres, on views rendered with a known
camera matrix and lens distortion (tests/synthetic_camera.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic_camera import MATRIX, Target, pose, render

from calibration.boards import Board, BoardError, find_board
from calibration.camera import CalibrationError, CameraCalibration, calibrate
from calibration.golden import GoldenTemplate, TemplateSettings
from calibration.scale import from_board, from_length, from_working_distance

# Poses (rotation vector in degrees, distance in mm, the board point on the optical axis) that spread
# the board over the image: straight on, tilted each way, and towards each corner.
POSES = [
    ((0, 0, 0), 300, (0, 0)),
    ((20, 0, 0), 300, (0, 0)),
    ((0, 25, 0), 300, (0, 0)),
    ((-15, 15, 10), 320, (-35, -22)),
    ((15, -20, -10), 320, (35, 22)),
    ((10, 10, 30), 320, (35, -22)),
    ((-20, -10, -20), 320, (-35, 22)),
    ((5, -25, 5), 260, (0, 0)),
]


def views_of(board: Board, poses: list = POSES) -> list[tuple[str, np.ndarray]]:
    margin = 20.0
    target = Target(board.image(8.0, margin), 8.0, margin)
    centre = (board.columns * board.square_mm / 2, board.rows * board.square_mm / 2)
    views = []
    for number, (angles, distance, offset) in enumerate(poses):
        rvec, tvec = pose(angles, distance, (centre[0] + offset[0], centre[1] + offset[1]))
        views.append((f"view{number}.png", render(target, rvec, tvec)))
    return views


@pytest.fixture(scope="module")
def chessboard_calibration() -> CameraCalibration:
    return calibrate(views_of(Board.parse("chessboard:9x6:20")), Board.parse("chessboard:9x6:20"), "0815-0000")


def assert_recovers_the_camera(calibration: CameraCalibration) -> None:
    found = calibration.camera_matrix
    for row, col in [(0, 0), (1, 1), (0, 2), (1, 2)]:  # fx, fy, cx, cy
        assert found[row, col] == pytest.approx(MATRIX[row, col], rel=0.01)
    assert calibration.rms_px < 0.5
    assert max(calibration.per_image_px.values()) < 0.5
    assert calibration.rejected == {}


def test_chessboard_views_recover_focal_length_and_principal_point(chessboard_calibration: CameraCalibration) -> None:
    assert_recovers_the_camera(chessboard_calibration)
    assert len(chessboard_calibration.per_image_px) == len(POSES)


def test_charuco_views_recover_focal_length_and_principal_point() -> None:
    board = Board.parse("charuco:9x6:20:15:DICT_4X4_50")
    assert_recovers_the_camera(calibrate(views_of(board), board, "0815-0001"))


def test_too_few_usable_views_names_each_bad_image() -> None:
    board = Board.parse("chessboard:9x6:20")
    good = views_of(board, POSES[:3])
    blurred = ("blurred.png", cv2.GaussianBlur(good[0][1], (0, 0), 3.0))
    blank = ("blank.png", np.full_like(good[0][1], 200))
    tiny = ("tiny.png", views_of(board, [((0, 0, 0), 2000, (0, 0))])[0][1])
    with pytest.raises(CalibrationError) as error:
        calibrate([*good, blurred, blank, tiny], board, "cam")
    message = str(error.value)
    assert "only 3 usable view(s) of 6, at least 6 needed" in message
    assert "blurred.png: blurred" in message
    assert "blank.png: board not found" in message
    assert "tiny.png: board too small" in message


def test_views_all_in_the_middle_are_refused_for_poor_coverage() -> None:
    board = Board.parse("chessboard:9x6:20")
    middle = [((a, b, 0), 480, (0, 0)) for a, b in [(0, 0), (15, 0), (-15, 0), (0, 15), (0, -15), (10, 10)]]
    with pytest.raises(CalibrationError, match="cover only"):
        calibrate(views_of(board, middle), board, "cam")


def test_bad_board_descriptions_say_how_to_write_one() -> None:
    for text in [
        "chessboard:9:20",
        "checkers:9x6:20",
        "charuco:7x5:30:40",
        "chessboard:2x2:5",
        "charuco:7x5:30:20:NOPE",
    ]:
        with pytest.raises(BoardError, match="board"):
            Board.parse(text)


def test_calibration_file_round_trip_and_undistortion_straightens_the_board(
    chessboard_calibration: CameraCalibration, tmp_path: Path
) -> None:
    path = tmp_path / "0815-0000.json"
    chessboard_calibration.save(path)
    loaded = CameraCalibration.load(path)
    assert loaded == chessboard_calibration
    board = Board.parse("chessboard:9x6:20")
    view = views_of(board, [((0, 0, 0), 300, (35, 22))])[0][1]  # off-centre: bent by the lens
    straight = loaded.undistorter()(view)
    bent_error = line_error(board, view)
    assert bent_error > 1.0  # pixels
    assert line_error(board, straight) < min(0.5, bent_error / 3)
    with pytest.raises(CalibrationError, match="calibrate the camera at the resolution"):
        loaded.undistorter()(view[:100, :100])
    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(CalibrationError, match="not a camera calibration file"):
        CameraCalibration.load(tmp_path / "broken.json")


def line_error(board: Board, image: np.ndarray) -> float:
    """Largest distance (px) of a board corner from the straight line through its row."""
    found = find_board(image, board)
    assert found is not None
    cols, rows = board.inner_corners
    worst = 0.0
    for row in found.image_points.reshape(rows, cols, 2):
        vx, vy, x0, y0 = cv2.fitLine(row.astype(np.float32), cv2.DIST_L2, 0, 0.01, 0.01).ravel()
        worst = max(worst, float(np.abs((row[:, 0] - x0) * vy - (row[:, 1] - y0) * vx).max()))
    return worst


def part_target(with_defect: bool) -> Target:
    """A 70 x 50 mm plate with dark conductors; the defect is extra material 5.0 x 3.0 mm."""
    px_per_mm = 20.0
    image = np.full((50 * 20, 70 * 20), 255, np.uint8)
    for y_mm in (8, 20, 32, 44):
        cv2.rectangle(image, (5 * 20, y_mm * 20), (65 * 20, y_mm * 20 + 40), 0, -1)
    if with_defect:
        cv2.rectangle(image, (60 * 20, 2 * 20), (65 * 20, 5 * 20), 0, -1)  # x 60-65 mm, y 2-5 mm: a corner
    return Target(image, px_per_mm, 0.0)


def test_a_defect_of_known_size_is_measured_in_mm_within_5_percent(chessboard_calibration: CameraCalibration) -> None:
    rvec, tvec = pose((0, 0, 0), 100, (35, 25))  # square onto the plate, 100 mm away
    good, part = (render(part_target(defect), rvec, tvec) for defect in (False, True))
    undistort = chessboard_calibration.undistorter()
    # The scale from a small board lying where the plate lies, and from the working distance.
    ruler = Board.parse("chessboard:7x5:5")
    ruler_view = render(Target(ruler.image(40.0, 3.0), 40.0, 3.0), *pose((0, 0, 0), 100, (17.5, 12.5)))
    scale = from_board(ruler_view, ruler, chessboard_calibration)
    assert scale.spread < 0.05  # square to the camera: the same scale all over the board
    assert from_working_distance(chessboard_calibration, 100).mm_per_px == pytest.approx(scale.mm_per_px, rel=0.01)

    def measured(reference: np.ndarray, image: np.ndarray) -> tuple[float, float]:
        # Edge pixels count when the defect covers more than half of them (difference > half the contrast).
        settings = TemplateSettings(tolerance=127, merge_px=2)
        regions = GoldenTemplate.from_image(reference).compare(image, settings).regions
        assert len(regions) == 1
        x1, y1, x2, y2 = regions[0].box
        return (x2 - x1) * scale.mm_per_px, (y2 - y1) * scale.mm_per_px

    width, height = measured(undistort(good), undistort(part))
    assert width == pytest.approx(5.0, rel=0.05)
    assert height == pytest.approx(3.0, rel=0.05)
    # Without undistortion the lens shrinks the defect in the image's corner.
    raw_width, _ = measured(good, part)
    assert raw_width < 5.0 * 0.97 and abs(raw_width - 5.0) > abs(width - 5.0)


def test_scale_from_a_known_length() -> None:
    assert from_length(480.0, 10.0).px_per_mm == pytest.approx(48.0)
    with pytest.raises(CalibrationError):
        from_length(0, 10.0)
