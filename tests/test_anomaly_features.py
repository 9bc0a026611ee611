"""Anomaly models keep the feature version they were trained with (``inspection/detectors/anomaly_features.py``):
a model trained before version 2 (its card without ``features``) still loads and scores as it was
calibrated, a new one scores with version 2, and statistics of the wrong version are refused. Real
training runs on crops of the bundled sample boards."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import yaml
from anomaly_parts import make_parts

from inspection.core.errors import ModelError
from inspection.detectors.anomaly_backend import AnomalyDetector
from inspection.detectors.anomaly_features import FEATURES_VERSION, AnomalyFeatures
from inspection.detectors.factory import load_detector
from inspection.ml.anomaly.patch_defects import TURNS
from inspection.ml.anomaly.training import AnomalySettings, train_anomaly
from inspection.ml.registry.store import register_run


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny models from the same good parts: one of feature version 1, one of the current version."""
    root = tmp_path_factory.mktemp("anomaly-features")
    parts = make_parts(root / "parts")
    for version in (1, FEATURES_VERSION):
        settings = AnomalySettings(parts / "good", root / f"run-v{version}", imgsz=64, memory=256, features=version)
        train_anomaly(settings, progress=lambda _line: None)
        register_run(root / f"run-v{version}", f"v{version}", registry=root / "registry")
    shutil.copytree(parts / "test", root / "registry" / "test-parts")
    soft = make_parts(root / "soft-parts", blur=3.0)  # the same crops out of focus: grey, not two-level
    train_anomaly(AnomalySettings(soft / "good", root / "run-soft", imgsz=64, memory=256), lambda _line: None)
    register_run(root / "run-soft", "soft", registry=root / "registry")
    shutil.copytree(soft / "test", root / "registry" / "soft-test-parts")
    return root / "registry"


def _detector(folder: Path) -> AnomalyDetector:
    detector = load_detector(folder / "model.onnx", 64, "cpu")
    assert isinstance(detector, AnomalyDetector)
    return detector


def test_a_model_keeps_the_feature_version_it_was_trained_with(registry: Path) -> None:
    old_card = yaml.safe_load((registry / "v1" / "card.yaml").read_text())
    new_card = yaml.safe_load((registry / f"v{FEATURES_VERSION}" / "card.yaml").read_text())
    assert old_card["anomaly"]["features"] == 1 and new_card["anomaly"]["features"] == FEATURES_VERSION
    assert old_card["input"]["preprocessing"] != new_card["input"]["preprocessing"]
    del old_card["anomaly"]["features"]  # as a card written before feature versions
    (registry / "v1" / "card.yaml").write_text(yaml.safe_dump(old_card, sort_keys=False))

    old, new = _detector(registry / "v1"), _detector(registry / f"v{FEATURES_VERSION}")
    assert old.features == AnomalyFeatures(1) and new.features == AnomalyFeatures(FEATURES_VERSION)
    part = cv2.imread(str(next((registry / "test-parts" / "good").glob("*.png"))), cv2.IMREAD_GRAYSCALE)
    for detector in (old, new):
        score, score_map, _ = detector.assess(part, 0.5)
        assert np.isfinite(score) and score_map.shape == (8, 8)  # 64 px at stride 8
    # a version-1 part's network input is /255; version 2 scales its mean to 0.5
    assert old.features.network_input(part, 64).mean() == pytest.approx(part.mean() / 255, abs=0.02)
    assert new.features.network_input(part, 64).mean() == pytest.approx(0.5, abs=0.05)
    old.close()
    new.close()


def test_statistics_of_another_version_are_refused(registry: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    shutil.copytree(registry / f"v{FEATURES_VERSION}", mixed)
    card = yaml.safe_load((mixed / "card.yaml").read_text())
    card["anomaly"]["features"] = 1  # a card claiming version 1 over version-2 statistics
    (mixed / "card.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    with pytest.raises(ModelError, match="image statistics, but feature version 1 has"):
        load_detector(mixed / "model.onnx", 64, "cpu")


def test_an_unknown_feature_version_says_what_to_do() -> None:
    with pytest.raises(ModelError, match=r"version 9 is unknown to this station.*update the station or train"):
        AnomalyFeatures(9)


def test_two_level_parts_are_scored_by_their_patterns_grey_parts_by_statistics_and_patches(registry: Path) -> None:
    binarised = yaml.safe_load((registry / f"v{FEATURES_VERSION}" / "card.yaml").read_text())
    soft = yaml.safe_load((registry / "soft" / "card.yaml").read_text())
    assert set(binarised["anomaly"]["calibration"]) == {"patterns", "combined_threshold"}
    assert "made_up_defects" not in binarised["anomaly"]
    # grey parts: the statistics' distance and made-up defects' direction, summed (part), with the patch defects'
    # peak and the patch term each where made-up defects on copies of the held-out parts were found at least as
    # well with it
    assert soft["anomaly"]["alignment"]["aligned"] is False  # crops at random places: no per-position term
    assert soft["anomaly"]["channels"][-1] != "positions" and "positions" not in soft["anomaly"]["calibration"]
    choice = soft["anomaly"]["made_up_defects_on_held_out"]
    scored = {"image", "defects", "part", "combined_threshold"} | ({"patches"} if choice["patches_scored"] else set())
    scored |= {"patch_defects"} if choice["patch_defects_scored"] else set()
    assert set(soft["anomaly"]["calibration"]) == scored
    assert choice["patches_scored"] == (choice["with_patches"] >= choice["without_patches"])
    assert choice["patch_defects_scored"] == (choice["with_patch_defects"] >= choice["without_patch_defects"])
    assert soft["anomaly"]["made_up_defects"]["images"] == soft["training"]["trained_on"]
    assert soft["anomaly"]["made_up_defects"]["fitted_auroc"] > 0.6  # the fit tells the copies apart
    assert soft["anomaly"]["made_up_defects"]["patch_defects"]["fitted_auroc"] > 0.7  # and the head the patches'
    assert soft["anomaly"]["made_up_defects"]["patch_defects"]["turns"] == TURNS == 2
    assert "head of where made-up defects are" in soft["architecture"] and "2 turns" in soft["architecture"]
    assert "pre-trained on procedural images (anomaly-trunk, sha256" in soft["architecture"]  # the default trunk
    assert soft["exports"]["onnx"]["parity"]["same_verdicts"] is True  # both maps of the network checked
    network = ort.InferenceSession(str(registry / "soft" / "model.onnx"), providers=["CPUExecutionProvider"])
    distances = network.run(None, {"images": np.full((1, 3, 64, 64), 0.5, np.float32)})[0][:, 0]
    assert (distances == 0).all() == (not choice["patches_scored"])  # the memory only in a network that scores it
    assert "patterns.npz" in binarised["files"] and "patterns.npz" not in soft["files"]
    assert soft["anomaly"]["patterns"]["used"] is False
    assert soft["anomaly"]["patterns"]["two_level_images"] < 0.9 * soft["anomaly"]["patterns"]["of"]
    for name, parts in ((f"v{FEATURES_VERSION}", "test-parts"), ("soft", "soft-test-parts")):
        detector = _detector(registry / name)
        assert (detector.patterns is not None) == (name != "soft")
        part = cv2.imread(str(next((registry / parts / "defect").glob("*.png"))), cv2.IMREAD_GRAYSCALE)
        score, score_map, detections = detector.assess(part, 0.5)
        assert np.isfinite(score) and score_map.shape == (8, 8)
        assert (score >= 0.5) == any(d.confidence >= 0.5 for d in detections)
        detector.close()
    # a part scored by its patterns: an empty frame (no part, the light off) fails as a whole, once every good
    # part had edges (some of these random crops are bare board: an empty frame looks like them)
    detector = _detector(registry / f"v{FEATURES_VERSION}")
    assert detector.patterns is not None and detector.assess(np.zeros((96, 96), np.uint8), 0.5)[0] < 0.5
    detector.patterns.edge_shares = (0.05, 0.5)
    for empty in (np.zeros((96, 96), np.uint8), np.full((96, 96), 255, np.uint8)):
        score, _, detections = detector.assess(empty, 0.5)
        assert score == 1.0 and detections[0].box == (0.0, 0.0, 96.0, 96.0)
    detector.close()


def test_a_pattern_table_without_its_file_is_refused(registry: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-patterns"
    shutil.copytree(registry / f"v{FEATURES_VERSION}", folder)
    (folder / "patterns.npz").unlink()
    with pytest.raises(ModelError, match=r"needs its patterns\.npz"):
        load_detector(folder / "model.onnx", 64, "cpu")


def test_a_grey_model_from_before_made_up_defects_scores_as_it_was_calibrated(registry: Path, tmp_path: Path) -> None:
    """A card whose calibration names the patch and image terms only (trained before 2026-12-07) scores the
    larger of those two, whatever else its statistics file holds."""
    folder = tmp_path / "old-grey"
    shutil.copytree(registry / "soft", folder)
    card = yaml.safe_load((folder / "card.yaml").read_text())
    calibration = card["anomaly"]["calibration"]
    patches = calibration.get("patches", {"median": 0.0, "threshold": 1.0})
    card["anomaly"]["calibration"] = {"patches": patches, "image": calibration["image"], "combined_threshold": 1.0}
    (folder / "card.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    old, new = _detector(folder), _detector(registry / "soft")
    part = cv2.imread(str(next((registry / "soft-test-parts" / "defect").glob("*.png"))), cv2.IMREAD_GRAYSCALE)
    raw, _ = old.term_maps(part, 8)
    assert set(raw) == {"patches", "image"}
    expected = max(
        float(old.calibration.terms["patches"].scaled(raw["patches"]).max()),
        float(old.calibration.terms["image"].scaled(raw["image"])),
    )
    assert old.assess(part, 0.5)[0] == pytest.approx(float(old.calibration.score(expected)), abs=0.02)
    assert "defects" in new.term_maps(part, 8)[0]
    old.close()
    new.close()
