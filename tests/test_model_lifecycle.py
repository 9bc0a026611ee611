"""The model lifecycle end to end through the CLI, offline: import a subset of the shared DeepPCB data,
train one epoch, register, evaluate, export (ONNX and OpenVINO) with parity, compare with the bundled
model, promote. Every step runs with Python-level network calls blocked (tests/no_network.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_RECIPE, ROOT, SAMPLE_IMAGES
from deeppcb_subset import PAIRS_PER_GROUP, SHARED_DEEPPCB, subset

from inspection.core.hashing import file_sha256

NO_NETWORK = ROOT / "tests" / "no_network.py"

pytestmark = pytest.mark.skipif(not SHARED_DEEPPCB.is_dir(), reason="needs ../shared/datasets/deeppcb")


def offline(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(NO_NETWORK), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    assert "NETWORK ATTEMPT" not in result.stderr, result.stderr
    return result


def test_import_train_evaluate_export_register_compare_promote(tmp_path: Path) -> None:
    source = subset(tmp_path / "deeppcb")
    dataset, run, registry = tmp_path / "dataset", tmp_path / "run", tmp_path / "models"

    step = offline(
        "dataset", "import", str(source), str(dataset), "--val-groups", "group77000", "--input", "image+reference"
    )  # fmt: skip
    assert step.returncode == 0, step.stderr
    assert yaml.safe_load((dataset / "manifest.yaml").read_text())["input"] == "image+reference"

    step = offline("train", "--data", str(dataset), "--out", str(run), "--epochs", "1", "--imgsz", "96", "--batch", "4")
    assert step.returncode == 0, step.stderr[-3000:]
    assert "epoch 1/1" in step.stderr
    config = yaml.safe_load((run / "train_config.yaml").read_text())
    assert config["dataset"]["manifest_sha256"] == file_sha256(dataset / "manifest.yaml")

    step = offline("models", "--registry", str(registry), "register", str(run), "--name", "candidate")
    assert step.returncode == 0, step.stderr
    folder = registry / "candidate"
    card = yaml.safe_load((folder / "card.yaml").read_text())
    assert card["input"] == {"imgsz": 96, "mode": "image+reference", "preprocessing": card["input"]["preprocessing"]}
    assert card["files"]["model.pt"] == file_sha256(folder / "model.pt")

    report = tmp_path / "evaluation.json"
    step = offline(
        "evaluate", "--registry", str(registry), "--model", "candidate", "--data", str(dataset),
        "--json", str(report), "--save-to-card",
    )  # fmt: skip
    assert step.returncode == 0, step.stderr
    assert "| **all** |" in step.stdout
    evaluation = json.loads(report.read_text())
    assert evaluation["images"] == 2 * PAIRS_PER_GROUP and evaluation["defect_free_images"] == PAIRS_PER_GROUP
    assert set(evaluation["per_class"]) == {"open", "short", "mousebite", "spur", "copper", "pin-hole"}
    assert yaml.safe_load((folder / "card.yaml").read_text())["metrics"]["map50"] == evaluation["map50"]

    for fmt in ("onnx", "openvino"):
        step = offline("export", "--registry", str(registry), "--model", "candidate", "--format", fmt)
        assert step.returncode == 0, step.stderr[-3000:]
        assert "same verdicts" in step.stdout
    card = yaml.safe_load((folder / "card.yaml").read_text())
    assert set(card["exports"]) == {"onnx", "openvino"}
    for name, digest in card["files"].items():
        assert file_sha256(folder / name) == digest, name

    step = offline("models", "--registry", str(registry), "list")
    assert step.returncode == 0 and "candidate" in step.stdout and "ok" in step.stdout

    truth = tmp_path / "truth"  # every _test image is defective
    truth.mkdir()
    for image in SAMPLE_IMAGES.glob("*_test.jpg"):
        (truth / f"{image.stem}.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    compare_report = tmp_path / "compare.md"
    step = offline(
        "compare", "--baseline", str(ROOT / "models" / "deeppcb-yolov8n" / "model.onnx"),
        "--candidate", str(folder / "model_openvino" / "model.xml"),
        str(SAMPLE_IMAGES / "*_test.jpg"), "--reference", str(SAMPLE_IMAGES / "*_temp.jpg"),
        "--labels", str(truth), "--report", str(compare_report),
    )  # fmt: skip
    assert step.returncode == 0, step.stderr
    compared = json.loads(compare_report.with_suffix(".json").read_text())
    assert compared["parts"] == len(list(SAMPLE_IMAGES.glob("*_test.jpg")))
    assert set(compared["speed"]) == {"baseline", "candidate"}
    assert set(compared["effects"]) <= {"new escape", "fixed escape"}  # judged against the truth
    fail_to_pass = sum(f["flip"] == "fail_to_pass" for f in compared["flip_list"])
    assert compared["effects"].get("new escape", 0) == fail_to_pass

    recipe = tmp_path / "recipe.yaml"
    text = DEMO_RECIPE.read_text().replace("model: ../../models", f"model: {ROOT}/models")
    recipe.write_text(text + f"reference: {SAMPLE_IMAGES}/*_temp.jpg\n")
    step = offline("models", "--registry", str(registry), "promote", "candidate", "--recipe", str(recipe), "--by", "qa")
    assert step.returncode == 0, step.stderr
    promoted = recipe.read_text()
    assert "# Bare PCB inspection" in promoted  # comments kept
    assert yaml.safe_load(promoted)["model"].endswith("models/candidate")
    assert yaml.safe_load((folder / "card.yaml").read_text())["promoted"][0]["by"] == "qa"

    # The station's inspect runs the promoted model with the recipe's reference images.
    step = offline("inspect", str(SAMPLE_IMAGES / "00041082_test.jpg"), "--recipe", str(recipe), "--json")
    assert step.returncode == 0, step.stderr
    assert json.loads(step.stdout)["verdict"] in {"pass", "fail"}
