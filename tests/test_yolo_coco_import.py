"""Plain YOLO and COCO datasets import into the same layout; bad labels name their file and line/id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from conftest import SAMPLE_IMAGES, run_cli

from inspection.ml.dataset.splits import read_split

IMAGES = sorted(SAMPLE_IMAGES.glob("*_test.jpg"))[:4]


def yolo_source(root: Path) -> Path:
    """Two images in train, one in val (one of them background), real sample images."""
    for split, images in (("train", IMAGES[:2]), ("val", IMAGES[2:3])):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for image in images:
            shutil.copy(image, root / "images" / split / image.name)
    (root / "labels/train" / (IMAGES[0].stem + ".txt")).write_text("1 0.5 0.5 0.1 0.2\n0 0.25 0.25 0.1 0.1\n")
    (root / "labels/val" / (IMAGES[2].stem + ".txt")).write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames: [open, short]\n")
    return root


def test_yolo_import_keeps_its_split_labels_and_hashes(tmp_path: Path) -> None:
    source = yolo_source(tmp_path / "yolo")
    out = tmp_path / "dataset"
    result = run_cli("dataset", "import", str(source), str(out), "--format", "yolo")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert manifest["classes"] == ["open", "short"] and manifest["split"] == {"by": "the source's own split"}
    assert manifest["counts"] == {"images": 3, "val_images": 1, "boxes": 3}
    val = read_split(out)
    assert [item.labels for item in val.images] == [((0, 0.5, 0.5, 0.2, 0.2),)]
    train = read_split(out, "train")
    assert sorted(len(item.labels) for item in train.images) == [0, 2]  # one background image


def test_yolo_import_reports_a_broken_line_and_writes_nothing(tmp_path: Path) -> None:
    source = yolo_source(tmp_path / "yolo")
    label = source / "labels/val" / (IMAGES[2].stem + ".txt")
    label.write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.1 0.1\n0 0.95 0.5 0.2 0.2\n")
    out = tmp_path / "dataset"
    result = run_cli("dataset", "import", str(source), str(out), "--format", "yolo")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: 2 label problem(s) in {source}, first: {label}:2: unknown class 7 (the dataset has 2); "
        "fix or remove those files"
    ]
    assert not out.exists() and not out.with_name("dataset.partial").exists()


def coco_source(root: Path, bad: bool = False) -> Path:
    (root / "images" / "boardA").mkdir(parents=True)
    (root / "images" / "boardB").mkdir(parents=True)
    (root / "annotations").mkdir()
    entries = []
    for i, image in enumerate(IMAGES):
        folder = "boardA" if i < 3 else "boardB"
        shutil.copy(image, root / "images" / folder / image.name)
        entries.append({"id": i + 1, "file_name": f"{folder}/{image.name}", "width": 640, "height": 640})
    annotations = [
        {"id": 10, "image_id": 1, "category_id": 5, "bbox": [100, 100, 40, 20]},
        {"id": 11, "image_id": 4, "category_id": 3, "bbox": [0, 0, 64, 64]},
    ]
    if bad:
        annotations.append({"id": 12, "image_id": 2, "category_id": 3, "bbox": [620, 10, 40, 20]})
    categories = [{"id": 3, "name": "spur"}, {"id": 5, "name": "short"}]
    (root / "annotations" / "instances.json").write_text(
        json.dumps({"images": entries, "annotations": annotations, "categories": categories})
    )
    return root


def test_coco_import_maps_categories_and_splits_by_folder(tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    result = run_cli("dataset", "import", str(coco_source(tmp_path / "coco")), str(out), "--format", "coco")
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load((out / "manifest.yaml").read_text())
    assert manifest["classes"] == ["spur", "short"]  # category id order
    assert manifest["split"] == {"by": "group", "train": ["boardA"], "val": ["boardB"]}
    val = read_split(out)
    assert [item.labels for item in val.images] == [((0, 0.05, 0.05, 0.1, 0.1),)]


def test_coco_import_reports_a_box_outside_its_image(tmp_path: Path) -> None:
    source = coco_source(tmp_path / "coco", bad=True)
    result = run_cli("dataset", "import", str(source), str(tmp_path / "dataset"), "--format", "coco")
    assert result.returncode == 2
    assert "instances.json: annotation id 12: box" in result.stderr and "outside the image" in result.stderr
    assert not (tmp_path / "dataset").exists()
