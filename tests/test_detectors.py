"""Detector backends: the bundled model, its ONNX export, identical pre/post-processing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from conftest import BUNDLED_MODEL, DEMO_RECIPE, SAMPLE_IMAGES

from inspection.cli.bench_backends import _network_images
from inspection.config import load_recipe
from inspection.core.hashing import file_sha256
from inspection.core.types import Detection
from inspection.detectors import load_detector
from inspection.detectors.card import read_card
from inspection.detectors.processing import letterbox, nms
from inspection.ml.model_export import check_parity
from inspection.ml.registry.selection import resolve_model_file
from inspection.quality.rules import decide


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def test_letterbox_keeps_aspect_and_undoes_exactly() -> None:
    image = np.zeros((480, 640), dtype=np.uint8)
    tensor, geometry = letterbox(image, 320)
    assert tensor.shape == (3, 320, 320)
    assert geometry.scale == pytest.approx(0.5)
    assert (geometry.pad_x, geometry.pad_y) == (0.0, 40.0)
    assert tensor[:, :40].max() == pytest.approx(114 / 255)  # grey padding above the image


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float32)
    scores = np.array([0.6, 0.9, 0.5], dtype=np.float32)
    assert nms(boxes, scores, 0.5) == [1, 2]


@pytest.fixture(scope="module")
def pt_detector():  # type: ignore[no-untyped-def]
    recipe = load_recipe(DEMO_RECIPE)
    return load_detector(BUNDLED_MODEL, recipe.imgsz, "cpu", recipe.iou, expected_classes=recipe.classes)


def test_boxes_are_in_original_image_pixels(pt_detector) -> None:  # type: ignore[no-untyped-def]
    image = cv2.imread(str(sorted(SAMPLE_IMAGES.glob("*_test.jpg"))[0]), cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(image, (1280, 1280), interpolation=cv2.INTER_NEAREST)
    small_boxes = [d.box for d in pt_detector.predict(image, 0.25).detections]
    big_boxes = [d.box for d in pt_detector.predict(big, 0.25).detections]
    assert small_boxes, "the bundled model finds defects on a defective board"
    for box in small_boxes:
        doubled = tuple(v * 2 for v in box)
        assert max(_iou(doubled, other) for other in big_boxes) > 0.8


@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_registered_exports_match_the_weights(fmt: str, tmp_path: Path) -> None:
    """Each registered export, on the sample images in the network's input form: the same verdicts and
    boxes matched with IoU >= 0.9 and confidence within 0.02 (the export parity check)."""
    recipe = load_recipe(DEMO_RECIPE)
    folder = BUNDLED_MODEL.parent
    card = read_card(folder)
    paths = []
    for i, image in enumerate(_network_images(recipe, card.input.mode)):
        paths.append(tmp_path / f"{i:03d}.png")
        cv2.imwrite(str(paths[-1]), image)
    report = check_parity(folder / "model.pt", folder / str(card.exports[fmt]["file"]), card.input.imgsz, paths)
    assert report.ok, report.mismatches
    assert report.images == len(paths) and report.boxes > 0


def test_bundled_files_match_their_card() -> None:
    card = yaml.safe_load((BUNDLED_MODEL.parent / "card.yaml").read_text())
    for name, sha256 in card["files"].items():
        assert file_sha256(BUNDLED_MODEL.parent / name) == sha256, name
    assert card["classes"] == load_recipe(DEMO_RECIPE).classes
    assert card["input"]["imgsz"] == load_recipe(DEMO_RECIPE).imgsz


def test_the_demo_recipe_runs_the_default_models_export_with_the_weights_verdicts() -> None:
    recipe = load_recipe(DEMO_RECIPE)
    fastest = resolve_model_file(recipe.model, "cpu").path
    assert fastest.name == "model.xml"  # the demo runs on the fastest CPU backend here: OpenVINO
    folder = recipe.model
    fast = load_detector(fastest, recipe.imgsz, "cpu", recipe.iou, recipe.classes, reference=recipe.reference)
    weights = load_detector(
        folder / "model.pt", recipe.imgsz, "cpu", recipe.iou, recipe.classes, reference=recipe.reference
    )
    for path in sorted(SAMPLE_IMAGES.iterdir()):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        ours, theirs = weights.predict(image, 0.25).detections, fast.predict(image, 0.25).detections
        assert decide(ours, recipe).verdict == decide(theirs, recipe).verdict, path.name
        assert len([d for d in ours if d.confidence >= 0.5]) == len([d for d in theirs if d.confidence >= 0.5])


def test_camera_images_give_the_detections_of_their_stacked_form_with_templates_kept() -> None:
    """The station path keeps each reference's template (band, registration pyramid) between parts: a later
    pass finds exactly what the first found, and the verdicts are those of the stacked dataset form (whose
    reference, registered once already, is registered again: a confidence moves by a few hundredths)."""
    recipe = load_recipe(DEMO_RECIPE)
    model = resolve_model_file(recipe.model, "cpu").path
    detector = load_detector(model, recipe.imgsz, "cpu", recipe.iou, recipe.classes, reference=recipe.reference)
    assert detector.references is not None
    passes: list[list[list[Detection]]] = []
    found = 0
    for _ in range(2):
        passes.append([])
        for path in sorted(SAMPLE_IMAGES.iterdir()):
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            stacked = detector.references.stack(image)[1]
            camera = detector.predict(image, 0.25).detections
            prepared = detector.predict_prepared(stacked, 0.25)
            assert decide(camera, recipe).verdict == decide(prepared, recipe).verdict, path.name
            passes[-1].append(camera)
            found += len(camera)
    assert passes[0] == passes[1]
    assert found > 0
