"""The model registry: cards verify the files, the station refuses changed weights, promotion."""

from __future__ import annotations

import getpass
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_RECIPE, ROOT, run_cli, write_station

from inspection.config import load_station_config
from inspection.core.errors import ModelError
from inspection.detectors import load_detector
from inspection.detectors.card import read_card
from inspection.recorder.audit import entries
from inspection.recorder.database import open_station_database

BUNDLED = ROOT / "models" / "deeppcb-yolov8n"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    shutil.copytree(BUNDLED, tmp_path / "models" / BUNDLED.name)
    return tmp_path / "models"


def test_bundled_model_files_verify_against_its_card() -> None:
    result = run_cli("models", "show", BUNDLED.name)
    assert result.returncode == 0, result.stderr
    assert "all verify against their sha256" in result.stdout
    card = read_card(BUNDLED)
    assert {"model.pt", "model.onnx", "model_openvino/model.xml", "model_openvino/model.bin"} <= set(card.files)


def test_station_refuses_weights_that_changed_after_registration(registry: Path) -> None:
    onnx = registry / BUNDLED.name / "model.onnx"
    with onnx.open("r+b") as handle:  # one byte in the middle of the weights
        handle.seek(onnx.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelError, match="does not match its model card"):
        load_detector(onnx, 320, "cpu", warm_up=False)
    result = run_cli("inspect", str(ROOT / "datasets/deeppcb-sample/images/00041082_test.jpg"), "--model", str(onnx))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not match its model card" in lines[0]
    listing = run_cli("models", "--registry", str(registry), "list")
    assert "CHANGED" in listing.stdout


def test_a_file_the_card_does_not_list_is_refused(registry: Path) -> None:
    stray = registry / BUNDLED.name / "other.onnx"
    shutil.copy(registry / BUNDLED.name / "model.onnx", stray)
    with pytest.raises(ModelError, match="not listed"):
        load_detector(stray, 320, "cpu", warm_up=False)


def test_promote_rewrites_only_the_model_line_and_notes_it_in_the_card(registry: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(DEMO_RECIPE.read_text().replace("../../models", str(ROOT / "models")))
    before = recipe.read_text().splitlines()
    station = write_station(tmp_path)
    promote = ("promote", BUNDLED.name, "--recipe", str(recipe), "--config", str(station))
    result = run_cli("models", "--registry", str(registry), *promote)
    assert result.returncode == 0, result.stderr
    # Audited like the app's model choice: who (the OS user, no --by given), how, what.
    trail = entries(open_station_database(load_station_config(station).storage))
    (entry,) = [e for e in trail if e.action == "model_promote"]
    assert entry.username == getpass.getuser() == entry.detail["os_user"]
    assert entry.detail["command"].startswith("inspection models --registry") and entry.detail["model"] == BUNDLED.name
    after = recipe.read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].startswith("model: ")
    # The model folder: the station runs it as its device calls for (ml.registry.selection).
    assert yaml.safe_load(recipe.read_text())["model"] == "models/deeppcb-yolov8n"
    assert read_card(registry / BUNDLED.name).promoted[-1]["format"] == "auto"


def test_promote_refuses_a_model_whose_files_changed(registry: Path, tmp_path: Path) -> None:
    (registry / BUNDLED.name / "model.pt").write_bytes(b"not the registered weights")
    recipe = tmp_path / "recipe.yaml"
    shutil.copy(DEMO_RECIPE, recipe)
    result = run_cli("models", "--registry", str(registry), "promote", BUNDLED.name, "--recipe", str(recipe))
    assert result.returncode == 2
    assert "files do not verify" in result.stderr
    assert recipe.read_text() == DEMO_RECIPE.read_text()
