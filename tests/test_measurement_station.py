"""Millimetres at the station and through the CLI: a calibration file and scale loaded by the station,
rules in mm, sizes recorded; ``inspection calibrate`` end to end on rendered views."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from conftest import ROOT, SAMPLE_IMAGES, run_cli, run_station, write_station
from sqlalchemy import select
from synthetic_camera import Target, pose, render
from test_calibration import POSES, views_of

from calibration.boards import Board
from calibration.camera import CameraCalibration
from gui.record_detail import RecordDetailDialog
from inspection.config import load_station_config
from inspection.core.errors import ConfigError
from inspection.recorder import queries
from inspection.recorder.database import open_database
from inspection.recorder.schema import DetectionRow, InspectionRow
from inspection.station.pipeline import Station

DEEPPCB_MM_PER_PX = 1 / 48  # DeepPCB's line-scan images: about 48 px/mm
MIN_SIZE_MM = 0.7


def template_recipe(tmp_path: Path, **rule: object) -> Path:
    recipe = yaml.safe_load((ROOT / "configs" / "recipes" / "deeppcb-template.yaml").read_text())
    recipe["model"] = str(ROOT / "configs" / "detectors" / "golden-template.yaml")
    recipe["reference"] = str(SAMPLE_IMAGES / "*_temp.jpg")
    recipe["default_rule"].update(rule)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def calibration_file(tmp_path: Path, camera: str = "0815-0000", mm_per_px: float | None = DEEPPCB_MM_PER_PX) -> Path:
    """A line-scan-like camera: no lens distortion, a known scale."""
    calibration = CameraCalibration(
        camera=camera,
        board="chessboard:9x6:5",
        image_size=(640, 640),
        matrix=[[4000.0, 0.0, 320.0], [0.0, 4000.0, 320.0], [0.0, 0.0, 1.0]],
        distortion=[0.0, 0.0, 0.0, 0.0, 0.0],
        rms_px=0.1,
        per_image_px={},
        mm_per_px=mm_per_px,
    )
    path = tmp_path / f"{camera}.json"
    calibration.save(path)
    return path


def test_station_measures_in_mm_and_rules_limit_sizes(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_station(
        tmp_path,
        recipe=str(template_recipe(tmp_path, min_size_mm=MIN_SIZE_MM)),
        measurement={"calibration": str(calibration_file(tmp_path))},
    )
    summary = run_station(config, parts=10)
    assert summary.records_written == 10
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'inspection.db'}")
    with engine.connect() as connection:
        scales = connection.execute(select(InspectionRow.mm_per_px)).scalars().all()
        detections = connection.execute(select(DetectionRow)).mappings().all()
    assert scales == [pytest.approx(DEEPPCB_MM_PER_PX)] * 10
    sizes = [(max(d["x2"] - d["x1"], d["y2"] - d["y1"]) * DEEPPCB_MM_PER_PX, d["counted"]) for d in detections]
    confident = [
        (size, counted) for (size, counted), d in zip(sizes, detections, strict=True) if d["confidence"] >= 0.5
    ]
    assert any(counted for _, counted in confident) and any(not counted for _, counted in confident)
    assert all(counted == (size >= MIN_SIZE_MM) for size, counted in confident)
    # The record's detail shows the counted defects' sizes in mm.
    failed = next(d["inspection_id"] for d in detections if d["counted"])
    dialog = RecordDetailDialog.from_database(queries.detail(engine, failed, tmp_path / "data"))
    qtbot.addWidget(dialog)
    assert " mm (" in dialog.values["defects"].text()


def test_station_refuses_mm_rules_without_a_scale_and_a_foreign_calibration(tmp_path: Path) -> None:
    no_scale = write_station(tmp_path, recipe=str(template_recipe(tmp_path, min_size_mm=MIN_SIZE_MM)))
    with pytest.raises(ConfigError, match="no scale"):
        Station(load_station_config(no_scale))
    foreign = write_station(
        tmp_path,
        recipe=str(template_recipe(tmp_path)),
        measurement={"calibration": str(calibration_file(tmp_path, camera="4711"))},
    )
    with pytest.raises(ConfigError, match="is for camera 4711"):
        Station(load_station_config(foreign))


def test_calibrate_camera_and_scale_through_the_cli(tmp_path: Path) -> None:
    board = Board.parse("chessboard:9x6:20")
    views = tmp_path / "views"
    views.mkdir()
    for name, image in views_of(board):
        cv2.imwrite(str(views / name), image)
    out = tmp_path / "cam.json"
    result = run_cli(
        "calibrate", "camera", str(views), "--board", "chessboard:9x6:20", "--camera", "cam-1", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert f"view{len(POSES) - 1}.png" in result.stdout and "reprojection RMS" in result.stdout
    assert json.loads(out.read_text())["camera"] == "cam-1"

    ruler = Board.parse("chessboard:7x5:5")
    ruler_view = tmp_path / "ruler.png"
    cv2.imwrite(str(ruler_view), render(Target(ruler.image(40.0, 3.0), 40.0, 3.0), *pose((0, 0, 0), 100, (17.5, 12.5))))
    result = run_cli(
        "calibrate",
        "scale",
        "--calibration",
        str(out),
        "--board",
        "chessboard:7x5:5",
        "--image",
        str(ruler_view),
        "--save",
    )
    assert result.returncode == 0, result.stderr
    expected = 100 / 817.5  # working distance / focal length of the rendering camera
    assert CameraCalibration.load(out).mm_per_px == pytest.approx(expected, rel=0.02)

    # Too few views: one line naming the bad ones.
    cv2.imwrite(str(views / "view0.png"), cv2.GaussianBlur(cv2.imread(str(views / "view0.png")), (0, 0), 3.0))
    for extra in sorted(views.iterdir())[3:]:
        extra.unlink()
    result = run_cli(
        "calibrate",
        "camera",
        str(views),
        "--board",
        "chessboard:9x6:20",
        "--camera",
        "cam-1",
        "--out",
        str(tmp_path / "x.json"),
    )
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "view0.png: blurred" in result.stderr
    assert not (tmp_path / "x.json").exists()
    result = run_cli("calibrate", "camera", str(views), "--board", "chessboard:9", "--camera", "c", "--out", str(out))
    assert result.returncode != 0 and "COLSxROWS" in result.stderr


def test_template_built_from_good_parts_drives_the_template_detector(tmp_path: Path) -> None:
    good = sorted(SAMPLE_IMAGES.glob("*_temp.jpg"))[0]
    stem = good.name.removesuffix("_temp.jpg")
    goods = tmp_path / "goods"
    goods.mkdir()
    image = cv2.imread(str(good), cv2.IMREAD_GRAYSCALE)
    for number, (dx, dy) in enumerate([(0, 0), (1.5, -1), (-2, 2.5)]):
        matrix = cv2.getRotationMatrix2D((320, 320), 0.2 * number, 1.0)
        matrix[:, 2] += (dx, dy)
        cv2.imwrite(str(goods / f"good{number}.png"), cv2.warpAffine(image, matrix, (640, 640), borderValue=255))
    reference = tmp_path / "refs" / "board.png"
    result = run_cli("calibrate", "template", str(goods), "--out", str(reference))
    assert result.returncode == 0, result.stderr
    assert reference.is_file() and (tmp_path / "refs" / "board.low.png").is_file()
    recipe = template_recipe(tmp_path)
    text = yaml.safe_load(recipe.read_text())
    text["reference"] = str(tmp_path / "refs")  # the folder: the band files are not references themselves
    recipe.write_text(yaml.safe_dump(text))
    result = run_cli("inspect", "--recipe", str(recipe), "--json", str(SAMPLE_IMAGES / f"{stem}_test.jpg"), str(goods))
    assert result.returncode == 0, result.stderr
    verdicts = [json.loads(line)["verdict"] for line in result.stdout.splitlines()]
    assert verdicts == ["fail", "pass", "pass", "pass"]


def test_printable_board_and_registration_report(tmp_path: Path) -> None:
    out = tmp_path / "board.png"
    result = run_cli("calibrate", "board", "--board", "charuco:7x5:30:22", "--px-per-mm", "5", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(out)).shape[:2] == (5 * (150 + 20), 5 * (210 + 20))
    template = sorted(SAMPLE_IMAGES.glob("*_temp.jpg"))[0]
    moved = tmp_path / "moved.png"
    image = cv2.imread(str(template), cv2.IMREAD_GRAYSCALE)
    shift = np.float32([[1, 0, 4], [0, 1, -3]])
    cv2.imwrite(str(moved), cv2.warpAffine(image, shift, (640, 640), borderValue=255))
    result = run_cli("calibrate", "register", str(moved), str(template))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("shift +4.00 -3.00 px")
