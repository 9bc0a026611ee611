"""DeepPCB import: both separators, bad labels reported with file and line, group-held-out split."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml
from conftest import SAMPLE_IMAGES, run_cli

from inspection.core.hashing import file_sha256
from inspection.ml.dataset.deeppcb import parse_annotation, read_deeppcb, write_yolo_dataset


def test_space_and_comma_separated_boxes(tmp_path: Path) -> None:
    label = tmp_path / "a.txt"
    label.write_text("10 20 40 60 1\n100,120,140,160,6\n")
    boxes, problems = parse_annotation(label)
    assert problems == []
    assert boxes == [(10.0, 20.0, 40.0, 60.0, 0), (100.0, 120.0, 140.0, 160.0, 5)]


def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    label = tmp_path / "b.txt"
    label.write_text("10 20 40 60 1\n10 20 40 60 9\n600 600 700 700 2\nten 20 40 60 1\n1 2 3\n")
    boxes, problems = parse_annotation(label)
    assert len(boxes) == 1
    assert [(p.line, p.message.split()[0]) for p in problems] == [
        (2, "unknown"),
        (3, "box"),
        (4, "not"),
        (5, "expected"),
    ]
    assert str(problems[0]).startswith(f"{label}:2:")


def test_import_splits_by_board_group(tmp_path: Path) -> None:
    root = _mini_deeppcb(tmp_path / "deeppcb", ("group11111", "group22222"))
    result = read_deeppcb(root)
    assert result.problems == [] and len(result.pairs) == 2
    data_yaml = write_yolo_dataset(result, tmp_path / "yolo", val_groups={"group22222"})
    assert data_yaml.is_file()
    assert sorted(p.name for p in (tmp_path / "yolo/images/val").iterdir()) == [
        "22222000_temp.jpg",
        "22222000_test.jpg",
    ]
    assert (tmp_path / "yolo/labels/train/11111000_test.txt").read_text().startswith("1 ")
    assert (tmp_path / "yolo/labels/train/11111000_temp.txt").read_text() == ""


def test_reference_input_stacks_each_image_with_its_reference(tmp_path: Path) -> None:
    root = _mini_deeppcb(tmp_path / "deeppcb", ("group11111", "group22222"))
    write_yolo_dataset(read_deeppcb(root), tmp_path / "yolo", {"group22222"}, input_mode="image+reference")
    test = cv2.imread(str(tmp_path / "yolo/images/train/11111000_test.png"))
    board = cv2.imread(str(root / "group11111/11111/11111000_test.jpg"), cv2.IMREAD_GRAYSCALE)
    template = cv2.imread(str(root / "group11111/11111/11111000_temp.jpg"), cv2.IMREAD_GRAYSCALE)
    # The board as it came; the template registered onto it (the pair is not aligned to the pixel).
    assert np.array_equal(test[:, :, 0], board)
    assert np.array_equal(test[:, :, 2], cv2.absdiff(board, test[:, :, 1]))
    assert float(test[:, :, 2].mean()) <= float(cv2.absdiff(board, template).mean())
    # A template is paired with a re-capture of itself (moved, turned, re-binarised, re-encoded): a
    # defect-free example as the station sees one, with what registration leaves of the move.
    clean = cv2.imread(str(tmp_path / "yolo/images/train/11111000_temp.png"))
    moved_by = float(cv2.absdiff(clean[:, :, 0], template).mean())
    assert moved_by > 2 * float(clean[:, :, 2].mean()) and float(clean[:, :, 2].mean()) < 20
    assert "input: image+reference" in (tmp_path / "yolo/data.yaml").read_text()


def _mini_deeppcb(root: Path, groups: tuple[str, ...] = ("group11111", "group22222", "group33333")) -> Path:
    source = sorted(SAMPLE_IMAGES.glob("*_test.jpg"))[0]
    for group in groups:
        images, labels = root / group / group[5:], root / group / f"{group[5:]}_not"
        images.mkdir(parents=True)
        labels.mkdir(parents=True)
        stem = f"{group[5:]}000"
        (images / f"{stem}_test.jpg").write_bytes(source.read_bytes())
        (images / f"{stem}_temp.jpg").write_bytes(source.with_name(source.name.replace("_test", "_temp")).read_bytes())
        (labels / f"{stem}.txt").write_text("10 20 40 60 2\n")
    return root


def test_dataset_import_cli_writes_layout_and_manifest(tmp_path: Path) -> None:
    source = _mini_deeppcb(tmp_path / "deeppcb")
    out = tmp_path / "dataset"
    result = run_cli("dataset", "import", str(source), str(out), "--val-groups", "group33333")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert manifest["split"] == {"by": "board group", "train": ["group11111", "group22222"], "val": ["group33333"]}
    assert manifest["counts"] == {"pairs": 3, "val_pairs": 1, "boxes": 3}
    assert manifest["files"]["33333000_test.jpg"] == file_sha256(source / "group33333/33333/33333000_test.jpg")
    assert yaml.safe_load((out / "data.yaml").read_text())["path"] == str(out.resolve())
    assert sorted(p.name for p in (out / "images/val").iterdir()) == ["33333000_temp.jpg", "33333000_test.jpg"]


def test_dataset_import_refuses_a_broken_label_and_writes_nothing(tmp_path: Path) -> None:
    source = _mini_deeppcb(tmp_path / "deeppcb")
    (source / "group22222/22222_not/22222000.txt").write_text("10 20 40 60 2\n10 20 oops 60 2\n")
    out = tmp_path / "dataset"
    result = run_cli("dataset", "import", str(source), str(out))
    assert result.returncode != 0
    assert "22222000.txt:2" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and not (tmp_path / "dataset.partial").exists()
