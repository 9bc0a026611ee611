"""Datasets as users hold them: images with defect masks, and one folder per class. Real sample boards;
the masks are painted from DeepPCB's own boxes, so the boxes the import finds are known."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from conftest import SAMPLE_IMAGES, run_cli

from inspection.core.errors import StationError
from inspection.ml.dataset.folders import import_folders
from inspection.ml.dataset.importer import import_labelled
from inspection.ml.dataset.splits import read_split

LABELS = SAMPLE_IMAGES.parent / "labels"
BOARDS = sorted(SAMPLE_IMAGES.glob("*_test.jpg"))


def separate_boxes(board: Path) -> list[tuple[int, int, int, int]]:
    """The board's DeepPCB boxes (x1 y1 x2 y2) that touch no other box: each is one mask component."""
    boxes = [
        tuple(int(v) for v in line.split()[:4])
        for line in (LABELS / f"{board.stem[:8]}.txt").read_text().split("\n")
        if line
    ]
    apart = []
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        others = boxes[:i] + boxes[i + 1 :]
        if all(x2 + 2 < a or a2 + 2 < x1 or y2 + 2 < b or b2 + 2 < y1 for a, b, a2, b2 in others):
            apart.append((x1, y1, x2, y2))
    return apart


def paint_mask(board: Path, mask: Path, boxes: list[tuple[int, int, int, int]]) -> None:
    height, width = cv2.imread(str(board), cv2.IMREAD_GRAYSCALE).shape
    pixels = np.zeros((height, width), np.uint8)
    for x1, y1, x2, y2 in boxes:
        pixels[y1:y2, x1:x2] = 255  # x2, y2 exclusive: the component's box is exactly the label's
    mask.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(mask), pixels)


def masks_source(root: Path, boards: list[Path], name: str = "open") -> dict[str, list[tuple[int, int, int, int]]]:
    """``images/<name>/`` boards with painted masks, ``images/good/`` their templates with none."""
    painted = {}
    for board in boards:
        image = root / "images" / name / board.name
        image.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(board, image)
        painted[board.name] = separate_boxes(board)
        paint_mask(board, root / "masks" / name / f"{board.stem}_mask.png", painted[board.name])
        good = root / "images" / "good" / board.name.replace("_test", "_temp")
        good.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(board.with_name(good.name), good)
    return painted


def pixel_boxes(
    labels: tuple[tuple[int, float, float, float, float], ...], width: int, height: int
) -> set[tuple[int, ...]]:
    return {
        (
            round((cx - w / 2) * width),
            round((cy - h / 2) * height),
            round((cx + w / 2) * width),
            round((cy + h / 2) * height),
        )
        for _, cx, cy, w, h in labels
    }


def test_masks_import_finds_one_box_per_component_with_the_folder_as_class(tmp_path: Path) -> None:
    painted = masks_source(tmp_path / "src", BOARDS[:12])
    out = tmp_path / "dataset"
    result = run_cli("dataset", "import", str(tmp_path / "src"), str(out), "--format", "masks")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert manifest["format"] == "masks" and manifest["classes"] == ["open"]
    assert manifest["split"]["by"].startswith("every 10th image of each class")
    assert manifest["counts"] == {"images": 24, "val_images": 2, "boxes": sum(map(len, painted.values()))}
    every = read_split(out, "train").images + read_split(out, "val").images
    for item in every:
        if "_temp" in item.path.name:
            assert item.labels == ()  # a good part: no mask
        else:
            assert pixel_boxes(item.labels, 640, 640) == set(painted[item.path.name]), item.path.name
            assert {label[0] for label in item.labels} <= {0}
    val = read_split(out, "val").images
    assert {"_temp" in item.path.name for item in val} == {True, False}  # both classes validate


def test_masks_import_keeps_an_mvtec_style_split(tmp_path: Path) -> None:
    source = tmp_path / "mvtec"
    for board in BOARDS[:3]:
        good = source / "train" / "good" / board.name.replace("_test", "_temp")
        good.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(board.with_name(good.name), good)
        defect = source / "test" / "scratch" / board.name
        defect.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(board, defect)
        paint_mask(board, source / "ground_truth" / "scratch" / f"{board.stem}_mask.png", separate_boxes(board))
    (source / "test" / "good").mkdir()
    shutil.copy(BOARDS[3].with_name(BOARDS[3].name.replace("_test", "_temp")), source / "test" / "good")
    import_labelled(source, tmp_path / "dataset", "masks", progress=lambda _line: None)
    manifest = yaml.safe_load((tmp_path / "dataset" / "manifest.yaml").read_text())
    assert manifest["classes"] == ["scratch"] and manifest["split"]["by"].startswith("the source's own split")
    val = read_split(tmp_path / "dataset", "val").images
    assert len(val) == 4 and sum(bool(item.labels) for item in val) == 3
    assert all(item.labels == () for item in read_split(tmp_path / "dataset", "train").images)


@pytest.mark.parametrize("fault", ["size", "unreadable", "missing"])
def test_a_bad_mask_is_named_and_nothing_is_written(tmp_path: Path, fault: str) -> None:
    source = tmp_path / "src"
    masks_source(source, BOARDS[:3])
    mask = source / "masks" / "open" / f"{BOARDS[1].stem}_mask.png"
    if fault == "size":
        cv2.imwrite(str(mask), np.zeros((320, 640), np.uint8))
        expected = f"{mask}: mask is 640 x 320 px, its image {source / 'images' / 'open' / BOARDS[1].name} is 640 x 640"
    elif fault == "unreadable":
        mask.write_bytes(b"\x89PNG\r\n\x1a\n not a png")
        expected = f"{mask}"
    else:
        mask.unlink()
        expected = f"{source / 'images' / 'open' / BOARDS[1].name}: no mask for this 'open' image"
    out = tmp_path / "dataset"
    with pytest.raises(StationError, match="1 label problem") as error:
        import_labelled(source, out, "masks", progress=lambda _line: None)
    assert expected in str(error.value)
    assert not out.exists() and not out.with_name("dataset.partial").exists()


def folders_source(root: Path, per_class: int) -> Path:
    for number, board in enumerate(BOARDS[:per_class]):
        for name, image in (("good", board.with_name(board.name.replace("_test", "_temp"))), ("open", board)):
            target = root / name / f"{number:03d}_{image.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(image, target)
    return root


def test_folders_import_writes_the_classification_layout_with_every_class_validated(tmp_path: Path) -> None:
    source = folders_source(tmp_path / "src", 12)
    out = tmp_path / "dataset"
    result = run_cli("dataset", "import", str(source), str(out), "--format", "folders")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert manifest["classes"] == ["good", "open"]
    assert manifest["counts"] == {"train": {"good": 11, "open": 11}, "val": {"good": 1, "open": 1}}
    assert sorted(p.name for p in (out / "val" / "open").iterdir()) == [f"005_{BOARDS[5].name}"]
    assert (
        len(manifest["files"]) == 24
        and (out / "train" / "good" / f"000_{BOARDS[0].name.replace('_test', '_temp')}").resolve()
        == (source / "good" / f"000_{BOARDS[0].name.replace('_test', '_temp')}").resolve()
    )
    refused = run_cli(
        "dataset", "import", str(source), str(tmp_path / "other"), "--format", "folders", "--val-groups", "x"
    )
    assert refused.returncode == 2 and "leave --val-groups out" in refused.stderr


@pytest.mark.parametrize("fault", ["empty folder", "unreadable image", "no good"])
def test_a_bad_folders_dataset_is_named_and_nothing_is_written(tmp_path: Path, fault: str) -> None:
    source = folders_source(tmp_path / "src", 3)
    if fault == "empty folder":
        (source / "dent").mkdir()
        expected = f"{source / 'dent'}: no images in this class folder"
    elif fault == "unreadable image":
        broken = source / "open" / "broken.jpg"
        broken.write_bytes(b"\xff\xd8\xff not a jpeg")
        expected = str(broken)
    else:
        shutil.rmtree(source / "good")
        expected = f"{source}: no good/ folder"
    out = tmp_path / "dataset"
    with pytest.raises(StationError) as error:
        import_folders(source, out, progress=lambda _line: None)
    assert expected in str(error.value)
    assert not out.exists() and not out.with_name("dataset.partial").exists()
