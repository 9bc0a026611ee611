"""The two-stage detector (golden-template regions named by a classifier): crops, their labels, and
its lifecycle through the CLI offline: crops from an imported subset, one epoch of training, register,
evaluate, export with parity, compare with the bundled model, inspect; a changed proposal file is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import DEMO_RECIPE, ROOT, SAMPLE_IMAGES
from deeppcb_subset import SHARED_DEEPPCB, subset
from test_model_lifecycle import offline

from inspection.core.hashing import file_sha256
from inspection.core.types import Detection
from inspection.detectors.card import read_card
from inspection.detectors.loading import LoadRequest
from inspection.detectors.openvino_backend import cpu_has_bf16
from inspection.detectors.region_backend import blend_with_geometry, load_region_detector
from inspection.detectors.region_crop import CROP_PX, NONE, crop_region
from inspection.ml.dataset.region_crops import CLASSIFIER_PX, label_regions

CLASSES = ["open", "short", "mousebite", "spur", "copper", "pin-hole"]


def test_crop_is_centred_on_the_region_and_keeps_small_regions_in_context() -> None:
    stacked = np.full((200, 300, 3), 255, np.uint8)
    stacked[100:110, 150:170, 0] = 0  # a dark 20 x 10 mark on the board channel
    crop = crop_region(stacked, (150.0, 100.0, 170.0, 110.0))
    assert crop.shape == (CROP_PX, CROP_PX, 3)
    dark = np.argwhere(crop[:, :, 0] < 128)
    # The square is at least 24 px: the 20 px mark spans 20/24 of the crop, centred.
    assert abs(dark[:, 1].mean() - (CROP_PX - 1) / 2) < 1.0 and abs(dark[:, 0].mean() - (CROP_PX - 1) / 2) < 1.0
    assert 0.75 * CROP_PX < dark[:, 1].max() - dark[:, 1].min() + 1 < 0.9 * CROP_PX
    edge = crop_region(stacked, (0.0, 0.0, 4.0, 4.0))  # outside the image: white board and template, no difference
    assert edge[0, 0].tolist() == [255, 255, 0]


def test_regions_take_the_class_of_the_box_they_overlap() -> None:
    found = [
        Detection("open", 0, 0.9, (10.0, 10.0, 30.0, 30.0)),
        Detection("open", 0, 0.9, (100.0, 100.0, 110.0, 110.0)),
        Detection("spur", 3, 0.9, (12.0, 12.0, 32.0, 32.0)),
    ]
    truth = [(2, (11.0, 11.0, 31.0, 31.0))]
    assert label_regions(found, truth, CLASSES) == ["mousebite", NONE, "mousebite"]
    assert label_regions(found, [], CLASSES) == [NONE] * 3


@pytest.mark.skipif(not SHARED_DEEPPCB.is_dir(), reason="needs ../shared/datasets/deeppcb")
def test_crops_train_register_evaluate_export_compare_inspect(tmp_path: Path) -> None:
    source = subset(tmp_path / "deeppcb")
    dataset, crops, run, registry = (tmp_path / name for name in ("dataset", "crops", "run", "models"))
    step = offline("dataset", "import", str(source), str(dataset), "--input", "image+reference")
    assert step.returncode == 0, step.stderr

    step = offline("dataset", "crops", str(dataset), str(crops))
    assert step.returncode == 0, step.stderr
    info = yaml.safe_load((crops / "crops.yaml").read_text())
    assert info["classes"] == CLASSES and info["crop_px"] == CROP_PX
    assert info["source"]["manifest_sha256"] == file_sha256(dataset / "manifest.yaml")
    for split in ("train", "val"):
        written = {p.parent.name: 0 for p in (crops / split).glob("*/*.png")}
        assert sum(info["counts"][split].values()) == len(list((crops / split).glob("*/*.png")))
        assert set(written) <= {*CLASSES, NONE}
        assert sorted(p.name for p in (crops / split).iterdir()) == sorted([*CLASSES, NONE])
    assert info["counts"]["train"].get(NONE, 0) > 0 and sum(info["counts"]["train"].values()) > 20
    # Each crop matched to a labelled box keeps both boxes, for the box corrections in regions.yaml.
    pairs = json.loads((crops / "region_boxes.json").read_text())
    assert pairs["train"] and all((crops / "train" / key).is_file() for key in pairs["train"])
    assert all(key.split("/")[0] in CLASSES for split in pairs.values() for key in split)

    step = offline("train", "--data", str(crops), "--out", str(run), "--epochs", "1", "--batch", "32")
    assert step.returncode == 0, step.stderr[-3000:]
    assert "epoch 1/1: accuracy" in step.stderr
    config = yaml.safe_load((run / "train_config.yaml").read_text())
    assert config["imgsz"] == CLASSIFIER_PX and config["dataset"]["task"] == "classify"
    assert config["architecture"].endswith("region-classifier.yaml")

    step = offline("models", "--registry", str(registry), "register", str(run), "--name", "regions")
    assert step.returncode == 0, step.stderr
    folder = registry / "regions"
    card = yaml.safe_load((folder / "card.yaml").read_text())
    assert card["task"] == "classify" and card["classes"] == CLASSES
    assert card["input"]["mode"] == "image+reference" and card["input"]["imgsz"] == CLASSIFIER_PX
    assert card["files"]["proposals.yaml"] == file_sha256(crops / "proposals.yaml")
    assert card["files"]["regions.yaml"] == file_sha256(crops / "regions.yaml")  # the geometry weight

    report = tmp_path / "evaluation.json"
    step = offline(
        "evaluate", "--registry", str(registry), "--model", "regions", "--data", str(dataset),
        "--json", str(report), "--save-to-card",
    )  # fmt: skip
    assert step.returncode == 0, step.stderr
    evaluation = json.loads(report.read_text())
    assert evaluation["images"] > 0 and set(evaluation["per_class"]) == set(CLASSES)

    step = offline("export", "--registry", str(registry), "--model", "regions", "--format", "onnx")
    assert step.returncode == 0, step.stderr[-3000:]
    assert "same verdicts" in step.stdout
    card = yaml.safe_load((folder / "card.yaml").read_text())
    assert card["exports"]["onnx"]["parity"]["identical_verdicts_and_boxes"] is True
    assert card["exports"]["onnx"]["precision"] == "f32"

    # bf16: OpenVINO only, and only where the CPU has bf16 units to check its parity on.
    step = offline(
        "export", "--registry", str(registry), "--model", "regions", "--format", "onnx", "--precision", "bf16"
    )
    assert step.returncode != 0 and "--precision bf16 is for --format openvino" in step.stderr
    step = offline(
        "export", "--registry", str(registry), "--model", "regions", "--format", "openvino", "--precision", "bf16"
    )
    card = yaml.safe_load((folder / "card.yaml").read_text())
    if cpu_has_bf16():
        assert step.returncode == 0, step.stderr[-3000:]
        assert card["exports"]["openvino"]["precision"] == "bf16"
        assert card["exports"]["openvino"]["parity"]["identical_verdicts_and_boxes"] is True
        exported = folder / card["exports"]["openvino"]["file"]
        assert yaml.safe_load((exported.parent / "metadata.yaml").read_text())["precision"] == "bf16"
        loaded = load_region_detector(
            LoadRequest(exported, read_card(folder), folder, 0, "cpu", threads=1, prepared_input=True)
        )
        assert loaded.info.precision == "bf16" and loaded.info.backend == "openvino"
    else:
        assert step.returncode != 0 and "no bf16 units" in step.stderr
        assert "openvino" not in card["exports"] and not (folder / "model_openvino").exists()

    compare_report = tmp_path / "compare.md"
    step = offline(
        "compare", "--baseline", str(ROOT / "models" / "deeppcb-yolov8n" / "model.onnx"),
        "--candidate", str(folder / "model.onnx"), str(SAMPLE_IMAGES / "*_test.jpg"),
        "--reference", str(SAMPLE_IMAGES / "*_temp.jpg"), "--report", str(compare_report),
    )  # fmt: skip
    assert step.returncode == 0, step.stderr
    compared = json.loads(compare_report.with_suffix(".json").read_text())
    assert compared["parts"] == len(list(SAMPLE_IMAGES.glob("*_test.jpg")))

    recipe = tmp_path / "recipe.yaml"
    text = DEMO_RECIPE.read_text().replace("model: ../../models", f"model: {ROOT}/models")
    recipe.write_text(text + f"reference: {SAMPLE_IMAGES}/*_temp.jpg\n")
    step = offline(
        "models", "--registry", str(registry), "promote", "regions", "--recipe", str(recipe), "--format", "onnx"
    )
    assert step.returncode == 0, step.stderr
    step = offline("inspect", str(SAMPLE_IMAGES / "00041082_test.jpg"), "--recipe", str(recipe), "--json")
    assert step.returncode == 0, step.stderr
    assert json.loads(step.stdout)["verdict"] in {"pass", "fail"}

    # The proposal settings are part of the model: a change after registration is refused.
    proposals = folder / "proposals.yaml"
    proposals.write_text(proposals.read_text().replace("tolerance: 60", "tolerance: 20"))
    step = offline("inspect", str(SAMPLE_IMAGES / "00041082_test.jpg"), "--recipe", str(recipe), "--json")
    assert step.returncode != 0
    assert "proposals.yaml: sha256 does not match the model card" in step.stderr
    proposals.write_text(proposals.read_text().replace("tolerance: 20", "tolerance: 60"))
    settings = folder / "regions.yaml"
    settings.write_text(settings.read_text().replace("geometry_weight: 0.5", "geometry_weight: 0.9"))
    step = offline("inspect", str(SAMPLE_IMAGES / "00041082_test.jpg"), "--recipe", str(recipe), "--json")
    assert step.returncode != 0 and "regions.yaml: missing, or its sha256 does not match" in step.stderr


def test_the_geometric_class_moves_the_probabilities_and_keeps_their_sum() -> None:
    regions = [Detection("open", 0, 0.5, (0, 0, 9, 9)), Detection("spur", 3, 0.5, (20, 20, 29, 29))]
    probabilities = np.array([[0.1, 0.6, 0.1, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.1, 0.0, 0.1]], np.float32)
    assert blend_with_geometry(probabilities, regions, CLASSES, 0.0) is probabilities
    half = blend_with_geometry(probabilities, regions, CLASSES, 0.5)
    assert half.sum(axis=1) == pytest.approx(probabilities.sum(axis=1))  # "not a defect" stays as likely
    assert half[0].argmax() == 0 and half[0, 0] == pytest.approx(0.05 + 0.4)  # geometry: open
    assert half[1, 3] == pytest.approx(0.05 + 0.1) and half[1, 5] == pytest.approx(0.05)
    whole = blend_with_geometry(probabilities, regions, CLASSES, 1.0)
    assert whole[0].tolist() == pytest.approx([0.8, 0, 0, 0, 0, 0])
