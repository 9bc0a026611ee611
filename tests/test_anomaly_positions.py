"""The per-position patch memory (``inspection/ml/anomaly/positions.py``): on aligned parts a feature that is fine
at one place and wrong at another is caught by it and not by the position-free memory; training judges from good
parts alone whether the parts are aligned, and scores the per-position term only then; its map places the boxes
and the exported network runs it as PyTorch does."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch
import yaml

from inspection.detectors.anomaly_backend import AnomalyDetector, Calibration
from inspection.detectors.anomaly_features import AnomalyFeatures
from inspection.detectors.factory import load_detector
from inspection.ml.anomaly.memory import greedy_coreset, standardise
from inspection.ml.anomaly.network import build_scorer, export_onnx, patch_features, score_maps
from inspection.ml.anomaly.positions import ALIGNED_BELOW, alignment, position_memory, position_ratio
from inspection.ml.anomaly.training import AnomalySettings, train_anomaly
from inspection.ml.anomaly.trunks import TrunkChoice
from inspection.ml.evaluation.anomaly_metrics import auroc
from inspection.ml.registry.store import register_run

SIDE = 64
TEST = ("good", "defect")
PAD = 12  # the side of a cell's bright pad (a contact): at the left, half-way down; a misplaced pad at the right


def cell(rng: np.random.Generator, misplaced: bool = False, anywhere: bool = False) -> np.ndarray:
    """A grey cell with a fine texture and a bright pad at one place (up to 1 px off: a fixtured part); with
    ``misplaced`` the pad at another place of the same texture: every patch of it is a good patch somewhere; with
    ``anywhere`` the pad at a random place (parts that are not aligned)."""
    texture = cv2.GaussianBlur(rng.normal(0, 1, (SIDE, SIDE)).astype(np.float32), (0, 0), 1.2)
    image = 110 + 20 * texture / texture.std()
    dy, dx = (int(v) for v in rng.integers(-1, 2, 2))
    x = (SIDE * 3 // 4 if misplaced else SIDE // 4) - PAD // 2 + dx
    y = SIDE // 2 - PAD // 2 + dy
    if anywhere:
        x, y = (int(v) for v in rng.integers(0, SIDE - PAD, 2))
    image[y : y + PAD, x : x + PAD] = 220
    return np.clip(image, 0, 255).astype(np.uint8)


def _at_a_pad_place(row: int, col: int) -> bool:
    """Whether a cell of the score map (stride 8) lies at the pad's place or where a misplaced pad is."""
    return 3 <= row <= 4 and (1 <= col <= 2 or 5 <= col <= 6)


def _features(trunk: object, parts: list[np.ndarray]) -> np.ndarray:
    """(N, h * w, D) patch features of the parts, as training keeps them."""
    inputs = np.concatenate([AnomalyFeatures().network_input(part, SIDE) for part in parts])
    with torch.no_grad():
        maps = patch_features(trunk, torch.from_numpy(inputs)).numpy()
    return np.asarray(maps.transpose(0, 2, 3, 1).reshape(len(parts), -1, maps.shape[1]), np.float32)


def test_a_feature_at_the_wrong_place_is_caught_per_position_and_not_by_the_position_free_memory(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    trunk = TrunkChoice().build(0)[0]
    fitted = _features(trunk, [cell(rng) for _ in range(60)])
    mean, scale = standardise(fitted.reshape(-1, fitted.shape[-1]))
    standard = (fitted - mean) / scale
    free = standard.reshape(-1, standard.shape[-1])
    positions = position_memory(standard, size=32)
    assert positions.shape == (standard.shape[1], 32, standard.shape[2])
    scorer = build_scorer(trunk, mean, scale, free[greedy_coreset(free, 1024)], positions=positions)
    assert scorer.channels == ["patches", "positions"]
    good = [cell(rng) for _ in range(20)]
    bad = [cell(rng, misplaced=True) for _ in range(20)]
    inputs = np.concatenate([AnomalyFeatures().network_input(part, SIDE) for part in good + bad])
    maps = score_maps(scorer, inputs)
    peaks = maps.reshape(len(inputs), 2, -1).max(2)  # each part's peak of each channel
    anywhere = auroc(list(peaks[:20, 0]), list(peaks[20:, 0]))
    at_position = auroc(list(peaks[:20, 1]), list(peaks[20:, 1]))
    assert at_position is not None and at_position >= 0.85  # the misplaced pad is caught per position
    assert anywhere is not None and anywhere <= 0.7  # a pad is a good patch elsewhere: the memory does not see it
    peaks_at = [np.unravel_index(int(m.argmax()), m.shape) for m in maps[20:, 1]]
    assert sum(_at_a_pad_place(int(r), int(c)) for r, c in peaks_at) >= 14  # where it is, or where it should be
    # the brute-force distance to the nearest patch at the same position
    standard_parts = _features(trunk, bad[:2])
    for part, part_maps in zip((standard_parts - mean) / scale, maps[20:22], strict=True):
        nearest = np.linalg.norm(part[:, None, :] - positions, axis=2).min(1)
        assert np.allclose(part_maps[1].reshape(-1), nearest, atol=1e-3)
    export_onnx(scorer, tmp_path / "model.onnx", SIDE, ["anomaly"])
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    exported = session.run(None, {"images": inputs[18:22]})[0]
    assert exported.shape == maps[18:22].shape and np.abs(exported - maps[18:22]).max() < 1e-3


def _median_ratio(trunk: object, parts: list[np.ndarray]) -> float:
    """The alignment check as training runs it: the first 60 parts fitted, the other 20 held out."""
    fitted, held = _features(trunk, parts[:60]), _features(trunk, parts[60:])
    mean, scale = standardise(fitted.reshape(-1, fitted.shape[-1]))
    memory = torch.from_numpy(position_memory((fitted - mean) / scale, size=32))
    ratios = []
    for index, part in enumerate((held - mean) / scale):
        own = np.linalg.norm(part[:, None, :] - memory.numpy(), axis=2).min(1).reshape(SIDE // 8, SIDE // 8)
        features = torch.from_numpy(part.T.reshape(1, -1, SIDE // 8, SIDE // 8).copy())
        ratios.append(position_ratio(features, own, memory, index))
    return float(alignment(np.asarray(ratios), memory)["median_ratio"])


def test_the_alignment_check_tells_aligned_parts_from_parts_that_are_not() -> None:
    rng, trunk = np.random.default_rng(4), TrunkChoice().build(0)[0]
    aligned = _median_ratio(trunk, [cell(rng) for _ in range(80)])
    wandering = _median_ratio(trunk, [cell(rng, anywhere=True) for _ in range(80)])
    assert aligned < ALIGNED_BELOW < wandering


def test_the_position_memory_covers_every_kind_of_patch_at_each_position() -> None:
    kinds = np.random.default_rng(1).normal(0, 5, (6, 3, 8)).astype(np.float32)  # 3 kinds of patch at 6 positions
    picks = np.random.default_rng(2).integers(0, 3, 90)
    maps = kinds[:, picks].transpose(1, 0, 2) + np.random.default_rng(3).normal(0, 0.01, (90, 6, 8)).astype(np.float32)
    kept = position_memory(maps, size=3)
    for position in range(6):  # the three chosen at each position are one of each kind
        nearest = np.linalg.norm(kept[position][:, None] - kinds[position][None], axis=2).argmin(1)
        assert sorted(nearest) == [0, 1, 2]
    assert position_memory(maps[:2], size=3).shape == (6, 2, 8)  # never more than the parts


@pytest.fixture(scope="module")
def aligned_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A model trained by the product on aligned cells, registered; and a folder of test cells."""
    root = tmp_path_factory.mktemp("aligned")
    rng = np.random.default_rng(5)
    for folder, count, misplaced in (("good", 80, False), ("test/good", 20, False), ("test/defect", 20, True)):
        (root / folder).mkdir(parents=True)
        for n in range(count):
            cv2.imwrite(str(root / folder / f"{n:03d}.png"), cell(rng, misplaced))
    train_anomaly(AnomalySettings(root / "good", root / "run", imgsz=SIDE, memory=512), lambda _line: None)
    register_run(root / "run", "cells", registry=root / "registry")
    return root / "registry" / "cells", root / "test"


def _scaled_peaks(detector: AnomalyDetector, part: np.ndarray) -> dict[str, float]:
    raw, _ = detector.term_maps(part, SIDE // 8)
    return {name: float(detector.calibration.terms[name].scaled(np.max(value))) for name, value in raw.items()}


def test_training_finds_aligned_parts_aligned_and_scores_them_per_position(aligned_model: tuple[Path, Path]) -> None:
    model, test = aligned_model
    card = yaml.safe_load((model / "card.yaml").read_text())
    section = card["anomaly"]
    assert section["alignment"]["aligned"] is True and section["alignment"]["median_ratio"] < ALIGNED_BELOW
    assert section["channels"][-1] == "positions" and "positions" in section["calibration"]
    assert "patches" not in section["calibration"]  # the position-free term gives way to it
    assert "nearest good patch at its own position" in card["architecture"]
    assert card["exports"]["onnx"]["parity"]["same_verdicts"] is True
    detector = load_detector(model / "model.onnx", SIDE, "cpu")
    assert isinstance(detector, AnomalyDetector)
    parts = {kind: [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted((test / kind).glob("*"))] for kind in TEST}
    scored = {kind: [detector.assess(part, 0.5) for part in parts[kind]] for kind in TEST}
    found = auroc([s for s, _, _ in scored["good"]], [s for s, _, _ in scored["defect"]])
    without = Calibration({k: v for k, v in detector.calibration.terms.items() if k not in ("positions", "whole")}, 1.0)
    before = {kind: [float(without.whole_part(_scaled_peaks(detector, part))) for part in parts[kind]] for kind in TEST}
    found_before = auroc(before["good"], before["defect"])  # the same model's whole-part term without positions
    assert found is not None and found_before is not None
    assert found >= 0.8 and found >= found_before + 0.1  # the statistics barely see a pad moved; the positions do
    for score, _, detections in scored["defect"]:
        if score >= 0.5:  # failed: boxed where the per-position map is high (the pad's places), not the whole part
            assert detections and all(d.box[2] - d.box[0] < SIDE for d in detections)
            centres = [((d.box[1] + d.box[3]) / 16, (d.box[0] + d.box[2]) / 16) for d in detections]
            assert any(_at_a_pad_place(int(r), int(c)) for r, c in centres)
    detector.close()
