"""Images that would stall or fool the station: a huge one (small file, 144 megapixels), one cut short,
an empty one. Each is refused with its reason, before decoding where the header tells, and nothing else
is held up: inspect, the folder camera, compare and dataset import treat them alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SAMPLE_IMAGES, run_cli, run_station, write_station
from PIL import Image as PilImage
from test_yolo_coco_import import IMAGES, yolo_source

from inspection.core.images import UnreadableImageError, check_image_file, load_image
from inspection.core.offline import make_ultralytics_offline

GOOD = sorted(SAMPLE_IMAGES.glob("*_test.jpg"))[0]


def _bad_images(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    huge = folder / "huge.png"
    assert cv2.imwrite(str(huge), np.zeros((12_000, 12_000), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert huge.stat().st_size < 1_000_000  # a small file that would decode to 144 MB
    truncated = folder / "truncated.jpg"
    data = GOOD.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    cut_png = folder / "cut.png"
    encoded = cv2.imencode(".png", cv2.imread(str(GOOD)))[1].tobytes()
    cut_png.write_bytes(encoded[: len(encoded) // 2])
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    return {"huge": huge, "truncated": truncated, "cut": cut_png, "empty": empty}


def test_each_bad_file_is_refused_with_its_reason(tmp_path: Path) -> None:
    bad = _bad_images(tmp_path)
    reasons = {"huge": "144 MP) is over the limit of 50 MP", "truncated": "JPEG file is cut short",
               "cut": "PNG file is cut short", "empty": "empty file"}  # fmt: skip
    for name, path in bad.items():
        with pytest.raises(UnreadableImageError, match=reasons[name].replace(")", r"\)")):
            load_image(path)
    assert check_image_file(GOOD) == (640, 640)
    assert check_image_file(bad["huge"], max_pixels=200_000_000) == (12_000, 12_000)  # a raised limit admits it


def test_inspect_reports_each_bad_image_and_inspects_the_rest(tmp_path: Path) -> None:
    bad = _bad_images(tmp_path / "in")
    good = tmp_path / "in" / GOOD.name
    shutil.copy(GOOD, good)
    result = run_cli("inspect", *map(str, bad.values()), str(good), "--json", timeout=120)
    assert result.returncode == 1
    assert [json.loads(line)["image"] for line in result.stdout.splitlines()] == [str(good)]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4 and all(line.endswith("; skipped") for line in errors), result.stderr
    assert any("over the limit" in line for line in errors) and any("cut short" in line for line in errors)
    assert "4 of 5 image(s) could not be read" in result.stderr


def test_a_folder_camera_counts_them_as_faults_and_records_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    _bad_images(folder)
    for path in sorted(SAMPLE_IMAGES.glob("*_temp.jpg"))[:3]:
        shutil.copy(path, folder / path.name)
    config = write_station(tmp_path, camera={"type": "folder", "path": str(folder)})
    summary = run_station(config)
    assert summary.records_written == 3
    assert summary.camera.unreadable_images == 4
    assert summary.camera.disconnects == 0


def test_dataset_import_refuses_a_cut_short_image_and_writes_nothing(tmp_path: Path) -> None:
    source = yolo_source(tmp_path / "yolo")
    broken = source / "images" / "train" / IMAGES[1].name
    broken.write_bytes(broken.read_bytes()[:5000])
    out = tmp_path / "dataset"
    result = run_cli("dataset", "import", str(source), str(out), "--format", "yolo")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: 1 unusable image(s) in {source}, first: {broken}")
    assert not out.exists()


def test_not_an_image_is_refused_also_once_ultralytics_patched_pil(tmp_path: Path) -> None:
    """ultralytics replaces PIL's open with one that tries a HEIF plug-in on failure (absent here)."""
    make_ultralytics_offline()
    import ultralytics  # noqa: F401, PLC0415

    assert PilImage.open.__module__ == "ultralytics.utils.patches"

    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    with pytest.raises(UnreadableImageError, match="not a readable image"):
        load_image(junk)
