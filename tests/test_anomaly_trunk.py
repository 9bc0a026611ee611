"""The anomaly model's trunk pre-trained on procedural images (issue 18): the images, the pre-training, the
shipped weights checked against their card, and the choice of trunk recorded in the run and the card."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from anomaly_parts import make_parts
from conftest import run_cli

from inspection.core.errors import StationError
from inspection.ml.anomaly.network import build_trunk, patch_features
from inspection.ml.anomaly.pretraining import PretrainingSettings, pretrain_trunk, random_view
from inspection.ml.anomaly.procedural import KINDS, SIZE, procedural_image
from inspection.ml.anomaly.training import SETTINGS_FILE, load_settings
from inspection.ml.anomaly.trunks import CARD_FILE, TRUNK_FOLDER, WEIGHTS_FILE, TrunkChoice


def test_procedural_images_are_grey_in_unit_range_and_unlike_each_other() -> None:
    rng = np.random.default_rng(3)
    images = [procedural_image(rng) for _ in range(40)]
    for image in images:
        assert image.shape == (SIZE, SIZE) and image.dtype == np.float32
        assert image.min() >= 0.0 and image.max() <= 1.0 and image.std() > 0.05
    for kind in KINDS:  # each kind on its own draws something with contrast
        assert kind(np.random.default_rng(0)).std() > 0.05
    differences = [np.abs(a - b).mean() for a, b in itertools.pairwise(images)]
    assert min(differences) > 0.02
    view = random_view(rng, images[0])
    assert view.shape == (48, 48) and abs(float(view.mean()) - 0.5) < 0.01  # the product's brightness scaling


def test_pretraining_steps_change_the_trunk_and_report_each_step() -> None:
    torch.set_num_threads(2)
    reported: list[tuple[int, float, float]] = []
    weights = pretrain_trunk(PretrainingSettings(steps=6, batch=16, pool=64), lambda *step: reported.append(step))
    assert [step for step, _, _ in reported] == list(range(1, 7))
    assert all(np.isfinite(loss) and 0.0 <= found <= 1.0 for _, loss, found in reported)
    start = build_trunk(0).state_dict()
    assert weights.keys() == start.keys()
    assert all(not np.allclose(weights[name], start[name].numpy()) for name in weights if name.endswith("weight"))


def _views_found(trunk: torch.nn.Module, views: torch.Tensor) -> float:
    """The share of views whose nearest other view (cosine of pooled patch features) is of the same image."""
    with torch.no_grad():
        pooled = torch.nn.functional.normalize(patch_features(trunk, views).mean((2, 3)), dim=1)
    similarity = (pooled @ pooled.T).fill_diagonal_(-2.0)
    half = len(views) // 2
    pairs = torch.cat([torch.arange(half) + half, torch.arange(half)])
    return float((similarity.argmax(1) == pairs).float().mean())


def test_the_shipped_trunk_tells_views_of_one_image_from_other_images() -> None:
    rng = np.random.default_rng(7)  # images and views the pre-training never drew (its seed is 0)
    images = [procedural_image(rng) for _ in range(100)]
    views = np.concatenate([np.stack([random_view(rng, image) for image in images]) for _ in range(2)])
    batch = torch.from_numpy(views)[:, None].repeat(1, 3, 1, 1)
    shipped, random = _views_found(TrunkChoice().build(0)[0], batch), _views_found(build_trunk(0), batch)
    assert shipped > 0.25 and shipped > 4 * random  # measured 0.39 against 0.045 (chance: 0.005)


def test_the_shipped_trunk_matches_its_card_and_is_trained() -> None:
    trunk, text = TrunkChoice().build(0)
    card = yaml.safe_load((TRUNK_FOLDER / CARD_FILE).read_text())
    assert "procedural" in card["data"] and card["sha256"][:12] in text and "pre-trained" in text
    random = build_trunk(0).state_dict()
    shipped = trunk.state_dict()
    assert all(shipped[name].shape == random[name].shape for name in random)
    assert not torch.allclose(shipped["0.0.weight"], random["0.0.weight"])
    _, random_text = TrunkChoice("random").build(0)
    assert "untrained" in random_text


def test_a_changed_or_missing_trunk_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "anomaly-trunk"
    shutil.copytree(TRUNK_FOLDER, folder)
    with np.load(folder / WEIGHTS_FILE) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["0.0.bias"] = arrays["0.0.bias"] + 1.0  # a wrong file of the right form
    np.savez(folder / WEIGHTS_FILE, **arrays)
    with pytest.raises(StationError, match=r"sha256 differs.*train_anomaly_trunk\.py"):
        TrunkChoice(folder=folder).build(0)
    (folder / CARD_FILE).write_text("sha256: [unclosed")
    with pytest.raises(StationError, match="not a trunk card"):
        TrunkChoice(folder=folder).build(0)
    (folder / WEIGHTS_FILE).unlink()
    with pytest.raises(StationError, match=r"no pre-trained trunk.*--trunk random"):
        TrunkChoice(folder=folder).build(0)
    with pytest.raises(StationError, match="--trunk imagenet: give one of procedural, random"):
        TrunkChoice("imagenet").build(0)


def test_a_run_records_its_trunk_and_a_run_from_before_keeps_the_random_one(tmp_path: Path) -> None:
    parts = make_parts(tmp_path / "parts", blur=3.0)  # grey parts: the patch network is scored or chosen
    run = tmp_path / "run"
    trained = run_cli("train", "--task", "anomaly", "--data", str(parts / "good"), "--out", str(run), "--imgsz", "64",
                      "--memory", "128", "--trunk", "random")  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert load_settings(run).trunk == "random"
    registered = run_cli("models", "--registry", str(tmp_path / "registry"), "register", str(run), "--name", "m")
    assert registered.returncode == 0, registered.stderr
    card = yaml.safe_load((tmp_path / "registry" / "m" / "card.yaml").read_text())
    assert "Kaiming-normal weights of seed 0, untrained" in card["architecture"]
    settings = yaml.safe_load((run / SETTINGS_FILE).read_text())
    del settings["trunk"]  # as written before 2026-12-07
    (run / SETTINGS_FILE).write_text(yaml.safe_dump(settings))
    assert load_settings(run).trunk == "random"
