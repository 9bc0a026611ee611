"""Honest false rejects: good boards captured again (moved, turned, re-binarised, re-encoded), inspected
against the original template; and the leave-one-group-out protocol, reduced to two small folds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, SAMPLE_IMAGES
from deeppcb_subset import SHARED_DEEPPCB

from calibration.registration import register
from inspection.cli.models import register_command
from inspection.core.errors import StationError
from inspection.core.recapture import DEFAULT_RECAPTURE, Recapture
from inspection.detectors.card import read_card
from inspection.ml.cross_groups import REPORT_JSON, REPORT_MD, CrossGroupSettings, run_cross_groups, train_final
from inspection.ml.dataset.deeppcb import read_deeppcb, write_yolo_dataset
from inspection.ml.scoring import evaluate

REF_YOLO = ROOT / "models" / "deeppcb-ref-yolov8n" / "model.onnx"


def sample_as_deeppcb(root: Path) -> Path:
    """The bundled sample pairs in DeepPCB's own layout (group = the first five digits)."""
    labels = SAMPLE_IMAGES.parent / "labels"
    for test in sorted(SAMPLE_IMAGES.glob("*_test.jpg")):
        stem = test.name.removesuffix("_test.jpg")
        group = stem[:5]
        images, notes = root / f"group{group}" / group, root / f"group{group}" / f"{group}_not"
        images.mkdir(parents=True, exist_ok=True)
        notes.mkdir(parents=True, exist_ok=True)
        shutil.copy(test, images / test.name)
        shutil.copy(test.with_name(f"{stem}_temp.jpg"), images / f"{stem}_temp.jpg")
        shutil.copy(labels / f"{stem}.txt", notes / f"{stem}.txt")
    return root


def test_a_recapture_moves_turns_and_rebinarises_the_board_within_its_ranges() -> None:
    template = cv2.imread(str(sorted(SAMPLE_IMAGES.glob("*_temp.jpg"))[0]), cv2.IMREAD_GRAYSCALE)
    settings = Recapture(max_shift_px=3.0, max_angle_deg=0.4)
    for seed in range(4):
        again = settings.apply(template, np.random.default_rng(seed))
        assert again.shape == template.shape and again.dtype == np.uint8
        assert np.count_nonzero((again < 40) | (again > 215)) > 0.95 * again.size  # binarised again
        assert float(cv2.absdiff(again, template).mean()) > 1.0  # not the same image
        found = register(again, template)
        assert max(abs(v) for v in found.shift) <= 3.0 + 640 * np.radians(0.4) and abs(found.angle_deg) <= 0.45
    # Seeded: the same board gives the same re-capture.
    first, second = (DEFAULT_RECAPTURE.apply(template, np.random.default_rng(7)) for _ in range(2))
    assert np.array_equal(first, second)


@pytest.fixture(scope="module")
def stacked_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = sample_as_deeppcb(tmp_path_factory.mktemp("deeppcb"))
    result = read_deeppcb(root)
    out = tmp_path_factory.mktemp("stacked") / "data"
    write_yolo_dataset(result, out, {pair.group for pair in result.pairs}, input_mode="image+reference")
    return out


def test_a_stacked_model_falsely_rejects_recaptures_unless_its_reference_is_registered(stacked_sample: Path) -> None:
    """The reference YOLO looks at (board, reference, difference): with the reference as it lies, every
    edge of a board moved by a few pixels shows in the difference; registered first, nothing does."""
    unregistered = evaluate(REF_YOLO, stacked_sample, conf=0.25, recaptures=4, alignment="none")
    registered = evaluate(REF_YOLO, stacked_sample, conf=0.25, recaptures=4, alignment="euclidean")
    for report in (unregistered, registered):
        assert report["recapture"]["good_boards"] == 16 and report["recapture"]["inspected"] == 64
    assert unregistered["recapture"]["alignment"] == "none"
    assert unregistered["recapture"]["false_reject_count"] > 0
    assert registered["recapture"]["false_reject_count"] == 0, registered["recapture"]["false_rejects"]
    assert registered["recapture"]["false_reject_rate"] == 0.0


def test_leave_one_group_out_reports_every_fold_mean_and_worst_and_resumes(tmp_path: Path) -> None:
    settings = CrossGroupSettings(
        SHARED_DEEPPCB, tmp_path / "logo", epochs=1, imgsz=32, groups=("group00041", "group13000"),
        pairs_per_group=4, recaptures=1,
    )  # fmt: skip
    summary = run_cross_groups(settings, progress=lambda _line: None)
    assert list(summary["folds"]) == ["group00041", "group13000"]
    for fold in summary["folds"].values():
        assert 0.0 <= fold["map50"] <= 1.0 and fold["recapture_false_reject_rate"] is not None
    maps = [fold["map50"] for fold in summary["folds"].values()]
    assert summary["overall"]["map50"]["worst"] == min(maps)
    assert summary["overall"]["map50"]["mean"] == pytest.approx(sum(maps) / 2, abs=1e-4)
    assert list(summary["per_class"]) == ["open", "short", "mousebite", "spur", "copper", "pin-hole"]
    # Each fold trained without its group: none of the held-out group's regions is in its training split.
    fold = tmp_path / "logo" / "folds" / "group13000"
    assert not any(p.name.startswith("13000") for p in (fold / "regions" / "train").rglob("*.png"))
    assert any(p.name.startswith("13000") for p in (fold / "regions" / "val").rglob("*.png"))
    table = (tmp_path / "logo" / REPORT_MD).read_text()
    assert "| **worst** |" in table and "| group13000 |" in table
    # Run again: every fold is read back, nothing is trained again.
    weights = fold / "registry" / "logo-group13000" / "model.pt"
    stamp = weights.stat().st_mtime_ns
    again = run_cross_groups(settings, progress=lambda _line: None)
    assert again["folds"] == summary["folds"] and weights.stat().st_mtime_ns == stamp
    saved = json.loads((fold / "report.json").read_text())
    assert saved["map50"] == summary["folds"]["group13000"]["map50"]
    # The final model: trained the same way on every group (longer), registered (last epoch) with the report.
    run = train_final(settings, progress=lambda _line: None, epochs=2)
    trained_on = {p.name[:5] for p in (tmp_path / "logo" / "final" / "regions" / "train").rglob("*.png")}
    assert {"00041", "13000"} <= trained_on
    registry = tmp_path / "registry"
    assert register_command(registry, run, "final", None, "", True, tmp_path / "logo" / REPORT_JSON) == 0
    card = read_card(registry / "final")
    section = card.model_dump()["leave_one_group_out"]
    assert section["overall"] == summary["overall"] and section["folds"] == summary["folds"]
    assert (section["epochs_per_fold"], section["epochs_final"]) == (1, 2)
    assert section["command"].endswith("--epochs 1 --final --final-epochs 2")
    with pytest.raises(StationError, match="not a leave-one-group-out report"):
        register_command(registry, run, "other", None, "", True, tmp_path / "logo" / REPORT_MD)
