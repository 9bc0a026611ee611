"""Registration of DeepPCB templates moved by known amounts, and the golden-template detector on real
DeepPCB pairs (each board against its own template)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, SAMPLE_IMAGES, run_cli

from calibration.golden import GoldenTemplate, TemplateSettings
from calibration.registration import RegistrationError, register
from inspection.core.errors import ModelError
from inspection.detectors import load_detector

TEMPLATE_DETECTOR = ROOT / "configs" / "detectors" / "golden-template.yaml"
TEMPLATE_RECIPE = ROOT / "configs" / "recipes" / "deeppcb-template.yaml"
SAMPLE_LABELS = SAMPLE_IMAGES.parent / "labels"
CROP = 64  # both images are cut from the middle, so neither shows the moved image's empty border


def templates() -> list[Path]:
    return sorted(SAMPLE_IMAGES.glob("*_temp.jpg"))


def moved(image: np.ndarray, angle_deg: float, shift: tuple[float, float], scale: float = 1.0) -> np.ndarray:
    height, width = image.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, scale)
    matrix[:, 2] += shift
    return np.asarray(cv2.warpAffine(image, matrix, (width, height), borderValue=255))


def true_matrix(image: np.ndarray, angle_deg: float, shift: tuple[float, float], scale: float = 1.0) -> np.ndarray:
    """The motion between the two crops: the full-image motion seen from the crop's corner."""
    height, width = image.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, scale)
    matrix[:, 2] += shift
    matrix[:, 2] += matrix[:, :2] @ [CROP, CROP] - CROP
    return matrix


def max_point_error(found: np.ndarray, truth: np.ndarray, size: int) -> float:
    corners = np.array([[x, y] for x in (0, size - 1) for y in (0, size - 1)] + [[size / 2, size / 2]], float)
    return float(np.abs(corners @ found[:, :2].T + found[:, 2] - (corners @ truth[:, :2].T + truth[:, 2])).max())


@pytest.mark.parametrize(
    ("angle", "shift"),
    [(0.0, (7.3, -4.6)), (0.8, (-12.25, 3.5)), (-2.6, (20.0, 15.4)), (4.0, (-3.1, -18.7))],
)
def test_registration_recovers_known_shift_and_rotation_of_every_sample_template(
    angle: float, shift: tuple[float, float]
) -> None:
    for path in templates():
        template = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        image = moved(template, angle, shift)
        crop = slice(CROP, -CROP)
        found = register(image[crop, crop], template[crop, crop])
        truth = true_matrix(template, angle, shift)
        size = template.shape[0] - 2 * CROP
        assert max_point_error(found.matrix, truth, size) < 0.5, path.name
        assert abs(found.angle_deg - angle) < 0.1, path.name


def test_affine_registration_also_recovers_scale() -> None:
    template = cv2.imread(str(templates()[0]), cv2.IMREAD_GRAYSCALE)
    image = moved(template, 1.5, (5.0, -6.0), scale=1.02)
    crop = slice(CROP, -CROP)
    found = register(image[crop, crop], template[crop, crop], motion="affine")
    assert found.scale == pytest.approx(1.02, abs=0.002)
    assert found.angle_deg == pytest.approx(1.5, abs=0.1)


def test_registration_refuses_unrelated_or_blank_images() -> None:
    template = cv2.imread(str(templates()[0]), cv2.IMREAD_GRAYSCALE)
    noise = np.random.default_rng(0).integers(0, 256, template.shape, dtype=np.uint8)
    with pytest.raises(RegistrationError, match="do not align"):
        register(noise, template)
    with pytest.raises(RegistrationError, match="blank"):
        register(np.full_like(template, 255), template)


def read_boxes(stem: str) -> list[tuple[int, tuple[int, int, int, int]]]:
    rows = (line.replace(",", " ").split() for line in (SAMPLE_LABELS / f"{stem}.txt").read_text().splitlines())
    return [(int(r[4]) - 1, (int(r[0]), int(r[1]), int(r[2]), int(r[3]))) for r in rows if r]


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def test_template_detector_finds_the_sample_defects_and_passes_moved_templates() -> None:
    detector = load_detector(TEMPLATE_DETECTOR, 0, reference=SAMPLE_IMAGES / "*_temp.jpg")
    found = right_class = total = 0
    for template_path in templates():
        stem = template_path.name.removesuffix("_temp.jpg")
        board = cv2.imread(str(SAMPLE_IMAGES / f"{stem}_test.jpg"), cv2.IMREAD_GRAYSCALE)
        prediction = detector.predict(board, 0.5)
        detections = prediction.detections
        assert prediction.reference == template_path.name  # compared with its own good board
        for class_id, box in read_boxes(stem):
            total += 1
            best = max(detections, key=lambda d: iou(d.box, box), default=None)
            if best is not None and iou(best.box, box) > 0.33:
                found += 1
                right_class += best.class_id == class_id
        # The good board, moved as a part moves in its fixture, has no defects.
        template = cv2.imread(str(template_path), cv2.IMREAD_GRAYSCALE)
        shifted = moved(template, 0.7, (3.4, -2.2))
        assert detector.predict(shifted, 0.5).detections == [], template_path.name
    assert found / total >= 0.9
    assert right_class / found >= 0.9


def test_template_from_several_good_images_tolerates_their_variation() -> None:
    template = cv2.imread(str(templates()[0]), cv2.IMREAD_GRAYSCALE)
    goods = [moved(template, angle, shift) for angle, shift in [(0.0, (0, 0)), (0.4, (1.5, -2)), (-0.3, (-2.5, 1))]]
    golden = GoldenTemplate.from_images(goods)
    assert golden.image.shape == template.shape
    assert (golden.low <= golden.image).all() and (golden.image <= golden.high).all()
    part = moved(template, 0.2, (4, 3)).copy()
    assert golden.compare(part).regions == []
    cv2.circle(part, (320, 320), 6, 0 if part[320, 320] > 128 else 255, -1)  # a dot of the wrong material
    regions = golden.compare(part, TemplateSettings()).regions
    assert len(regions) == 1
    x1, y1, x2, y2 = regions[0].box
    assert x1 <= 320 <= x2 and y1 <= 320 <= y2


def test_detector_settings_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "detector.yaml"
    bad.write_text("detector: golden-template\ntolerance: 999\n")
    with pytest.raises(ModelError, match="tolerance"):
        load_detector(bad, 0, reference=SAMPLE_IMAGES / "*_temp.jpg")
    bad.write_text("detector: golden-template\nclasses: [scratch]\n")
    with pytest.raises(ModelError, match="scratch"):
        load_detector(bad, 0, reference=SAMPLE_IMAGES / "*_temp.jpg")
    bad.write_text("name: something else\n")
    with pytest.raises(ModelError, match="detector: golden-template"):
        load_detector(bad, 0, reference=SAMPLE_IMAGES / "*_temp.jpg")


def test_template_recipe_inspects_through_the_cli() -> None:
    result = run_cli("inspect", "--recipe", str(TEMPLATE_RECIPE), "--json", str(SAMPLE_IMAGES))
    assert result.returncode == 0, result.stderr
    verdicts = {Path(r["image"]).name: r["verdict"] for r in map(json.loads, result.stdout.splitlines())}
    assert verdicts and all(v == ("fail" if name.endswith("_test.jpg") else "pass") for name, v in verdicts.items())


def test_blank_areas_compare_without_registration_and_boxes_are_exact() -> None:
    blank = np.full((100, 100), 255, np.uint8)
    part = blank.copy()
    part[40:50, 30:45] = 0  # 15 x 10 px of copper where the good part has none
    part[70, 70] = 0  # a one-pixel speck: noise
    regions = GoldenTemplate.from_image(blank).compare(part).regions
    assert [(r.box, r.area_px, r.polarity) for r in regions] == [((30, 40, 45, 50), 150, "extra")]
    assert GoldenTemplate.from_image(blank).compare(blank).regions == []


def test_a_board_with_almost_no_copper_is_kept_where_the_fixture_put_it() -> None:
    """DeepPCB 77000053: a few specks of copper on white, whose best alignment correlates at 0.49; no
    movement is kept rather than refusing the part (a blank image still raises)."""
    pair = ROOT.parent / "shared" / "datasets" / "deeppcb" / "group77000" / "77000" / "77000053_test.jpg"
    board = cv2.imread(str(pair), cv2.IMREAD_GRAYSCALE)
    template = cv2.imread(str(pair.with_name("77000053_temp.jpg")), cv2.IMREAD_GRAYSCALE)
    found = register(board, template, finest=1)
    assert found.shift == (0.0, 0.0) and found.angle_deg == 0.0 and found.score < 0.5
    with pytest.raises(RegistrationError):
        register(np.full((320, 320), 255, np.uint8), template)


def test_a_periodic_board_keeps_the_alignment_that_correlates_best_not_the_first_one_ecc_found() -> None:
    """DeepPCB 20085161: rows of equal pads 25 px apart. The coarse search starts ECC two degrees off, and
    ECC climbs the neighbouring row's basin (25 px down); no movement lies in another basin, so it is
    scored too, and wins."""
    pair = ROOT.parent / "shared" / "datasets" / "deeppcb" / "group20085" / "20085" / "20085161_test.jpg"
    board = cv2.imread(str(pair), cv2.IMREAD_GRAYSCALE)
    template = cv2.imread(str(pair.with_name("20085161_temp.jpg")), cv2.IMREAD_GRAYSCALE)
    found = register(board, template, finest=1)
    assert max(abs(v) for v in found.shift) < 1.0 and abs(found.angle_deg) < 0.1 and found.score > 0.95
