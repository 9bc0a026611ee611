"""Bad input to the model commands: one clear line on stderr, exit 2, nothing half-written in models/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from inspection.core.hashing import file_sha256
from inspection.detectors.card import InputSpec, ModelCard, write_card

BUNDLED = ROOT / "models" / "deeppcb-yolov8n"


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    shutil.copytree(BUNDLED, tmp_path / "models" / BUNDLED.name)
    return tmp_path / "models"


def test_a_model_file_that_is_not_a_model(tmp_path: Path) -> None:
    junk = tmp_path / "weights.pt"
    junk.write_bytes(b"these are not weights")
    dataset = tmp_path / "dataset"
    (dataset / "images" / "val").mkdir(parents=True)
    shutil.copy(ROOT / "datasets/deeppcb-sample/images/00041082_test.jpg", dataset / "images/val")
    (dataset / "data.yaml").write_text(f"path: {dataset}\ntrain: images/val\nval: images/val\nnames:\n  0: open\n")
    one_line_error(run_cli("evaluate", "--model", str(junk), "--data", str(dataset)), "cannot load model weights")
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"not onnx either")
    one_line_error(run_cli("inspect", str(dataset / "images/val"), "--model", str(onnx)), "cannot load ONNX model")


def test_registering_a_run_with_broken_weights_leaves_nothing(tmp_path: Path, registry: Path) -> None:
    run = tmp_path / "run"
    (run / "weights").mkdir(parents=True)
    (run / "weights" / "best.pt").write_bytes(b"truncated")
    (run / "train_config.yaml").write_text("architecture: yolov8n.yaml\nimgsz: 320\ndataset: {classes: [open]}\n")
    before = sorted(p.name for p in registry.iterdir())
    result = run_cli("models", "--registry", str(registry), "register", str(run), "--name", "broken")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in registry.iterdir()) == before


def test_an_export_target_the_machine_lacks(registry: Path) -> None:
    before = snapshot(registry)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "without_package.py"), "openvino", "export", "--registry", str(registry),
         "--model", BUNDLED.name, "--format", "openvino"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    one_line_error(result, "cannot export to openvino", "not installed on this machine")
    assert snapshot(registry) == before


def test_an_export_whose_weights_fail_to_load_registers_nothing(tmp_path: Path) -> None:
    registry = tmp_path / "models"
    folder = registry / "junk"
    folder.mkdir(parents=True)
    (folder / "model.pt").write_bytes(b"not weights")
    card = ModelCard(name="junk", classes=["open"], input=InputSpec(imgsz=64), files={})
    card.files["model.pt"] = file_sha256(folder / "model.pt")
    write_card(folder, card)
    before = snapshot(folder)
    result = run_cli("export", "--registry", str(registry), "--model", "junk", "--format", "onnx",
                     "--data", str(tmp_path / "missing"))  # fmt: skip
    one_line_error(result, "no data.yaml")
    assert snapshot(folder) == before


def test_data_folders_with_no_images(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(run_cli("dataset", "import", str(empty), str(tmp_path / "out")), "no DeepPCB pairs found")
    assert not (tmp_path / "out").exists()
    dataset = tmp_path / "dataset"
    (dataset / "images" / "val").mkdir(parents=True)
    (dataset / "data.yaml").write_text(f"path: {dataset}\ntrain: images/val\nval: images/val\nnames:\n  0: open\n")
    one_line_error(run_cli("evaluate", "--model", BUNDLED.name, "--data", str(dataset)), "no images in the 'val' split")
    one_line_error(run_cli("train", "--data", str(empty), "--out", str(tmp_path / "run")), "no data.yaml")
    assert not (tmp_path / "run").exists()


NAMES = "{0: 'open', 1: 'short', 2: 'mousebite', 3: 'spur', 4: 'copper', 5: 'pin-hole'}"


def _onnx_identity(path: Path, shape: list[int], names: str = NAMES) -> Path:
    """A real ONNX file whose network passes its input through (shape as given)."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper  # noqa: PLC0415

    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["out"])],
        "identity",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    model.metadata_props.append(onnx.StringStringEntryProto(key="names", value=names))
    onnx.save(model, path)
    return path


SAMPLE = str(ROOT / "datasets/deeppcb-sample/images/77000004_test.jpg")


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (lambda d: _write(d / "model.xml", bytes(range(256)) * 12), ["not an OpenVINO model (not XML"]),
        (lambda d: _write(d / "model.xml", b"<html><body/></html>"), ["not an OpenVINO model", "<html>"]),
        (lambda d: _write(d / "model.xml", b"<net name='x'/>"), ["the weights model.bin are missing"]),
        (lambda d: _onnx_identity(d / "m.onnx", [1, 3, 64]), ["the network's input is 1x3x64", "(batch, 3, size"]),
        (lambda d: _onnx_identity(d / "m.onnx", [1, 1, 64, 64]), ["the network's input is 1x1x64x64"]),
        (lambda d: _onnx_identity(d / "m.onnx", [1, 3, 64, 64], "{0: 'open', 1: "), ["class names", "malformed"]),
        (lambda d: _onnx_identity(d / "m.onnx", [1, 3, 64, 64], "{1: 'open'}"), ["numbered 0..0"]),
        (lambda d: _onnx_identity(d / "m.onnx", [1, 3, 64, 64], "42"), ["not a list of names"]),
    ],
    ids=["random-bytes-xml", "other-xml", "no-bin", "rank-3-input", "one-channel", "malformed-names",
         "names-numbering", "names-not-a-list"],
)  # fmt: skip
def test_each_model_loading_error_is_one_line_saying_what_to_fix(tmp_path: Path, make, fragments) -> None:  # type: ignore[no-untyped-def]
    model = make(tmp_path)
    result = run_cli("inspect", SAMPLE, "--model", str(model))
    one_line_error(result, str(model), *fragments)
    assert "unexpected" not in result.stderr and "core.cpp" not in result.stderr


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
