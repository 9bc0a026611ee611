"""Each class's box drawn as labellers draw it: corrections learnt from (region, labelled box) pairs, kept in
``regions.yaml`` with the geometry weight, applied by the region detector to its detections."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SAMPLE_IMAGES

from inspection.core.channels import grey
from inspection.core.errors import ModelError
from inspection.core.images import read_image
from inspection.core.types import Detection
from inspection.detectors import load_detector
from inspection.detectors.region_backend import RegionDetector
from inspection.detectors.region_settings import (
    MIN_PAIRS,
    BoxCorrection,
    RegionSettings,
    fit_box_corrections,
    parse_region_settings,
)
from inspection.ml.dataset.region_crops import box_pairs, fitted_settings

DEFAULT_MODEL = ROOT / "models" / "deeppcb-template-regions"


def labelled_like_an_open(region: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A labeller's box: 10% of the width and 3 px more on the left, 1 px less at the bottom."""
    x1, y1, x2, y2 = region
    return (x1 - 0.1 * (x2 - x1) - 3, y1, x2, y2 - 1)


def test_corrections_learnt_from_pairs_redraw_the_labellers_box() -> None:
    rng = np.random.default_rng(0)
    regions = []
    for _ in range(40):
        x, y, w, h = rng.uniform(0, 500), rng.uniform(0, 500), rng.uniform(10, 80), rng.uniform(10, 80)
        regions.append((x, y, x + w, y + h))
    pairs = {
        "open": [(r, labelled_like_an_open(r)) for r in regions],
        "spur": [(r, r) for r in regions[: MIN_PAIRS - 1]],
    }
    found = fit_box_corrections(pairs)
    assert set(found) == {"open"}  # too few spurs to learn from: their boxes stay the regions'
    unseen = (100.0, 200.0, 150.0, 230.0)
    assert found["open"].apply(unseen, 640, 640) == pytest.approx(labelled_like_an_open(unseen), abs=1e-6)
    # Kept inside the image, and never turned inside out.
    assert found["open"].apply((0.0, 0.0, 20.0, 20.0), 640, 640)[0] == 0.0
    shrink = BoxCorrection(((0.0, 30.0), (0.0, 0.0), (0.0, -30.0), (0.0, 0.0)))
    x1, _, x2, _ = shrink.apply((10.0, 10.0, 30.0, 30.0), 640, 640)
    assert x2 >= x1 + 1.0


def test_settings_file_round_trip_and_a_wrong_file_is_named(tmp_path: Path) -> None:
    settings = RegionSettings(0.5, {"open": BoxCorrection(((0.1, -3.0), (0.0, 0.5), (0.05, 1.0), (0.0, -1.0)))})
    path = tmp_path / "regions.yaml"
    path.write_text(settings.as_text())
    assert parse_region_settings(path) == settings
    path.write_text("geometry_weight: 0.5\nbox_corrections:\n  open: {x1: [0.1]}\n")
    with pytest.raises(ModelError, match=r"regions.yaml: expected .*\[slope, offset\] for each of x1, y1, x2, y2"):
        parse_region_settings(path)
    path.write_text("geometry_weight: 0.5\n")  # a classifier registered before boxes were learnt
    assert parse_region_settings(path) == RegionSettings(0.5)


def test_the_region_detector_draws_each_class_with_its_correction() -> None:
    detector = load_detector(DEFAULT_MODEL / "model.onnx", 64, "cpu", threads=1, prepared_input=True)
    assert isinstance(detector, RegionDetector)
    board = grey(read_image(SAMPLE_IMAGES / "00041082_test.jpg"))
    template = grey(read_image(SAMPLE_IMAGES / "00041082_temp.jpg"))
    stacked = np.dstack([board, template, board])
    detector.settings = dataclasses.replace(detector.settings, boxes={})  # the regions' own boxes
    before = detector.predict_prepared(stacked, 0.25)
    assert before
    wider = BoxCorrection(((0.0, -4.0), (0.0, -4.0), (0.0, 4.0), (0.0, 4.0)))
    detector.settings = dataclasses.replace(detector.settings, boxes={d.label: wider for d in before})
    after = detector.predict_prepared(stacked, 0.25)
    assert [(d.label, d.confidence) for d in after] == [(d.label, d.confidence) for d in before]
    for old, new in zip(before, after, strict=True):
        assert new.box == wider.apply(old.box, board.shape[1], board.shape[0])
    detector.close()


def test_crop_pairs_name_the_crop_file_and_the_box_each_region_was_matched_to() -> None:
    found = [
        Detection("spur", 3, 0.9, (10, 10, 30, 30)),
        Detection("open", 0, 0.9, (100, 100, 120, 110)),
        Detection("open", 0, 0.9, (104, 100, 120, 110)),  # a piece of the same open: a crop, not a pair
    ]
    truth = [(0, (98.0, 99.0, 125.0, 112.0))]
    pairs = box_pairs(found, truth, ["none", "open", "open"], "00041082_test")
    assert pairs == {"open/00041082_test_001.png": [[100, 100, 120, 110], [98.0, 99.0, 125.0, 112.0]]}
    json.dumps(pairs)  # what the crop builder writes beside the crops
    many = {f"open/x_{i:03d}.png": [[0, 0, 20, 20], [-2, 0, 20, 21]] for i in range(MIN_PAIRS)}
    settings = fitted_settings(many)
    assert settings.box("open", (50.0, 50.0, 70.0, 70.0), 640, 640) == pytest.approx((48.0, 50.0, 70.0, 71.0))
    assert settings.box("spur", (50.0, 50.0, 70.0, 70.0), 640, 640) == (50.0, 50.0, 70.0, 70.0)
