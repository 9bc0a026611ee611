"""A recipe names a registry model; the station picks its file by device. The GPU side is tested with the
device forced (this machine has no GPU); the CPU side runs for real."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import yaml
from conftest import DEMO_RECIPE, ROOT, SAMPLE_IMAGES

from inspection.config import load_recipe
from inspection.core.errors import ModelError
from inspection.detectors import load_detector
from inspection.ml.registry.selection import cuda_available, registry_folder, resolve_model_file, select_backend

REGISTRY = ROOT / "models"
DEFAULT = REGISTRY / "deeppcb-template-regions"


def test_with_cuda_the_weights_run_on_the_gpu() -> None:
    choice = select_backend(DEFAULT, "auto", cuda=lambda: True)
    assert choice.path == DEFAULT / "model.pt" and choice.device == "cuda:0"
    assert "CUDA" in choice.reason
    assert select_backend(DEFAULT, "cuda:1", cuda=lambda: False).device == "cuda:1"  # asked for: no probe


def test_without_cuda_the_fastest_cpu_export_runs() -> None:
    choice = select_backend(DEFAULT, "auto", cuda=lambda: False)
    assert choice.path == DEFAULT / "model_openvino" / "model.xml" and choice.device == "cpu"
    assert choice.as_json()["format"] == "openvino"
    # device: cpu wins over a GPU that is there
    assert select_backend(DEFAULT, "cpu", cuda=lambda: True).path.suffix == ".xml"


def test_a_model_without_exports_runs_its_weights_on_the_cpu(tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    card = yaml.safe_load((DEFAULT / "card.yaml").read_text())
    card["exports"] = {}
    (folder / "card.yaml").write_text(yaml.safe_dump(card))
    choice = select_backend(folder, "auto", cuda=lambda: False)
    assert choice.path == folder / "model.pt" and choice.device == "cpu"


def test_an_unknown_device_or_model_name_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="use auto, cpu or cuda"):
        select_backend(DEFAULT, "tpu")
    with pytest.raises(ModelError, match="inspection models list"):
        registry_folder(Path("no-such-model"), REGISTRY)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match=r"without card\.yaml"):
        registry_folder(tmp_path / "empty", REGISTRY)


def test_a_recipe_names_a_folder_or_a_registry_name_or_a_file() -> None:
    assert registry_folder(Path("deeppcb-template-regions"), REGISTRY) == REGISTRY / "deeppcb-template-regions"
    assert registry_folder(DEFAULT, REGISTRY) == DEFAULT
    assert registry_folder(DEFAULT / "model.onnx", REGISTRY) is None
    pinned = resolve_model_file(DEFAULT / "model.onnx", "cpu")
    assert pinned.path == DEFAULT / "model.onnx" and "names this file" in pinned.reason


def test_the_demo_recipe_names_the_registry_model_and_runs_on_the_cpu_backend_here() -> None:
    recipe = load_recipe(DEMO_RECIPE)
    assert recipe.model.resolve() == DEFAULT.resolve()
    choice = resolve_model_file(recipe.model, "auto")
    assert not cuda_available() or choice.device.startswith("cuda")
    if not cuda_available():
        assert choice.device == "cpu" and choice.path.suffix == ".xml"
    detector = load_detector(
        choice.path, recipe.imgsz, choice.device, recipe.iou, recipe.classes, reference=recipe.reference
    )
    image = cv2.imread(str(sorted(SAMPLE_IMAGES.glob("*_test.jpg"))[0]))
    assert detector.predict(image, 0.5).detections
