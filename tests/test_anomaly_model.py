"""The anomaly model's CLI contract (issue 18): train from good images alone, register, inspect with a
score, evaluate; offline, on real images: crops of the bundled DeepPCB sample boards (good: the
defect-free templates; defective: the test boards cut around each labelled defect)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from anomaly_parts import make_parts
from conftest import ROOT, run_cli, run_station, write_station
from pytestqt.qtbot import QtBot
from sqlalchemy import select, text
from test_data_safety import _hold_write_lock, _rows, _start_station, _wait_for

from gui.record_detail import RecordDetailDialog
from gui.widgets.image_view import with_score_map
from inspection.config import load_station_config
from inspection.detectors.anomaly_backend import anomaly_regions
from inspection.recorder import queries
from inspection.recorder.database import open_database
from inspection.recorder.schema import InspectionRow
from inspection.recorder.score_maps import decode_score_map
from inspection.recorder.spill import JOURNAL_NAME, SpillJournal
from inspection.station.pipeline import Station

NO_NETWORK = ROOT / "tests" / "no_network.py"


def offline(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with every network call blocked (exit 97 if one is tried)."""
    return subprocess.run(
        [sys.executable, str(NO_NETWORK), *args], capture_output=True, text=True, timeout=600, cwd=ROOT
    )


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_parts(tmp_path_factory.mktemp("anomaly-parts"), per_board=24)  # patterns need a few hundred crops


@pytest.fixture(scope="module")
def registered(parts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An anomaly model trained offline on good/ and registered into a registry of its own."""
    work = tmp_path_factory.mktemp("anomaly-model")
    train = offline(
        "train", "--task", "anomaly", "--data", str(parts / "good"), "--out", str(work / "run"), "--imgsz", "96",
        "--memory", "2048",
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    assert "held out to set the threshold" in train.stderr and "features:" in train.stderr
    register = offline("models", "--registry", str(work / "registry"), "register", str(work / "run"), "--name", "crops")
    assert register.returncode == 0, register.stderr
    return work / "registry" / "crops"


def test_card_records_the_threshold_and_how_it_was_set(registered: Path) -> None:
    card = yaml.safe_load((registered / "card.yaml").read_text())
    assert card["task"] == "anomaly" and card["classes"] == ["anomaly"]
    section = card["anomaly"]
    assert section["threshold"] == 0.5 and section["target_false_reject"] == 0.01
    held = section["held_out_good"]
    assert held["images"] == len(held["scores"]) >= 5
    assert sum(held["score_histogram"].values()) == held["images"]
    assert held["false_reject_at_threshold"] <= 0.2
    assert "quantile" in section["how_set"]
    assert card["exports"]["onnx"]["parity"]["max_score_gap"] <= 0.01
    # the crops are two-level (binarised boards): scored by their black-and-white patterns alone
    assert set(card["files"]) == {"model.onnx", "image_statistics.npz", "patterns.npz"}
    assert set(section["calibration"]) == {"patterns", "combined_threshold"}
    assert section["patterns"]["used"] and section["patterns"]["two_level_images"] == section["patterns"]["of"]
    assert "black-and-white patterns" in card["architecture"]


def test_inspect_scores_defective_parts_above_good_ones(parts: Path, registered: Path) -> None:
    result = offline(
        "inspect", str(parts / "test/good"), str(parts / "test/defect"), "--model", str(registered), "--json"
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(list((parts / "test").rglob("*.png")))
    for row in rows:
        assert isinstance(row["score"], float) and row["verdict"] in ("pass", "fail")
        assert (row["verdict"] == "fail") == (row["score"] >= 0.5)
        assert all(d["label"] == "anomaly" for d in row["detections"])
    good = [r["score"] for r in rows if "/test/good/" in r["image"]]
    defective = [r["score"] for r in rows if "/test/defect/" in r["image"]]
    assert np.mean(defective) > 2 * np.mean(good)
    failed = [r for r in rows if r["verdict"] == "fail"]
    assert failed and all(r["detections"] for r in failed)  # a failed part names where


def test_evaluate_reports_auroc_escapes_false_rejects_and_histograms(
    parts: Path, registered: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    result = offline("evaluate", "--model", str(registered), "--data", str(parts / "test"), "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "Image AUROC" in result.stdout
    report = json.loads(out.read_text())
    assert report["good_images"] == report["defective_images"] > 10
    assert report["auroc"] >= 0.7  # measured 0.80 (chance: 0.5)
    assert 0.0 <= report["escape_rate"] <= 1.0 and 0.0 <= report["false_reject_rate"] <= 1.0
    for side in ("good", "defective"):
        assert sum(report["score_histogram"][side].values()) == report[f"{side}_images"]
    assert report["per_kind"]["defect"]["mean_score"] > report["per_kind"]["good"]["mean_score"]


def test_resume_finishes_an_interrupted_run_the_same_way(parts: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    first = run_cli("train", "--task", "anomaly", "--data", str(parts / "good"), "--out", str(run), "--imgsz", "64",
                    "--memory", "256")  # fmt: skip
    assert first.returncode == 0, first.stderr
    finished = yaml.safe_load((run / "anomaly.yaml").read_text())
    for later in ("anomaly.yaml", "model.onnx", "image_statistics.npz", "work/memory.npz", "work/features-0003.npy"):
        (run / later).unlink()  # as if killed in the feature step
    again = run_cli("train", "--resume", "--out", str(run))
    assert again.returncode == 0, again.stderr
    resumed = yaml.safe_load((run / "anomaly.yaml").read_text())
    assert resumed["calibration"] == finished["calibration"]
    assert resumed["held_out_good"]["scores"] == finished["held_out_good"]["scores"]


def test_resume_refuses_when_the_good_images_changed(parts: Path, tmp_path: Path) -> None:
    good = tmp_path / "good"
    shutil.copytree(parts / "good", good)
    run = tmp_path / "run"
    first = run_cli("train", "--task", "anomaly", "--data", str(good), "--out", str(run), "--imgsz", "64",
                    "--memory", "128")  # fmt: skip
    assert first.returncode == 0, first.stderr
    sorted(good.iterdir())[0].unlink()
    again = run_cli("train", "--resume", "--out", str(run))
    assert again.returncode != 0 and "the good images changed" in again.stderr


@pytest.mark.parametrize(
    ("damage", "said"),
    [("imgsz", "KeyError: 'imgsz'"), ("memory", "ValueError"), ("whole", "ParserError")],
)
def test_resume_refuses_a_damaged_settings_file_with_what_to_do(tmp_path: Path, damage: str, said: str) -> None:
    run = tmp_path / "run"
    run.mkdir()
    settings = {"data": str(tmp_path / "good"), "out": str(run), "imgsz": 64, "memory": 128, "holdout": 0.2,
                "target_false_reject": 0.01, "seed": 0, "max_patches": 1000, "features": 2, "turns": 2,
                "trunk": "procedural"}  # fmt: skip
    if damage == "imgsz":
        del settings["imgsz"]
    elif damage == "memory":
        settings["memory"] = "many"
    text = yaml.safe_dump(settings) if damage != "whole" else "data: [unclosed\n  out: x"
    (run / "anomaly_settings.yaml").write_text(text)
    again = run_cli("train", "--resume", "--out", str(run))
    assert again.returncode != 0 and "Traceback" not in again.stderr
    assert "anomaly_settings.yaml: damaged (" + said in again.stderr, again.stderr
    assert "start again with a new --out" in again.stderr


def test_bad_training_input_is_refused_with_the_file_named(parts: Path, tmp_path: Path) -> None:
    few = tmp_path / "few"
    few.mkdir()
    for image in sorted((parts / "good").iterdir())[:4]:
        shutil.copy(image, few)
    result = run_cli("train", "--task", "anomaly", "--data", str(few), "--out", str(tmp_path / "r1"))
    assert result.returncode != 0 and "4 good image(s) found" in result.stderr and "at least 10" in result.stderr

    broken = tmp_path / "broken"
    shutil.copytree(parts / "good", broken)
    (broken / "zz-cut.png").write_bytes((parts / "good" / sorted(p.name for p in (parts / "good").iterdir())[0])
                                        .read_bytes()[:200])  # fmt: skip
    result = run_cli("train", "--task", "anomaly", "--data", str(broken), "--out", str(tmp_path / "r2"))
    assert result.returncode != 0 and "zz-cut.png" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r2" / "model.onnx").exists()

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("someone's run")
    result = run_cli("train", "--task", "anomaly", "--data", str(parts / "good"), "--out", str(taken))
    assert result.returncode != 0 and "not empty" in result.stderr
    assert (taken / "keep.txt").read_text() == "someone's run"


def test_a_station_runs_the_anomaly_model_and_records_each_score(
    parts: Path, registered: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    line = tmp_path / "line"
    line.mkdir()
    for image in sorted((parts / "test/good").iterdir())[:6] + sorted((parts / "test/defect").iterdir())[:6]:
        shutil.copy(image, line / f"{image.parent.name}-{image.name}")
    recipe = tmp_path / "crops.yaml"
    recipe.write_text(yaml.safe_dump({"name": "crops", "model": str(registered), "classes": ["anomaly"]}))
    summary = run_station(write_station(tmp_path, image_folder=line, recipe=str(recipe)), parts=12)
    assert summary.records_written == 12 and not summary.errors
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'inspection.db'}")
    with engine.connect() as connection:
        rows = connection.execute(select(InspectionRow.__table__)).mappings().all()
    assert len(rows) == 12
    for row in rows:
        assert row["model_name"].startswith("crops/") and isinstance(row["anomaly_score"], float)
        assert (row["verdict"] == "fail") == (row["anomaly_score"] >= 0.5) == (row["defects"] > 0)
        score_map = decode_score_map(row["anomaly_map"])
        assert score_map is not None and score_map.shape == (96 // 8, 96 // 8)
        assert score_map.max() <= min(row["anomaly_score"], 1.0) + 0.01  # the part's score: the larger term
    # The record's detail shows the score and draws the map over the part where it is high.
    worst = max(rows, key=lambda row: float(decode_score_map(row["anomaly_map"]).max()))  # type: ignore[union-attr]
    detail = queries.detail(engine, worst["id"], tmp_path / "data")
    assert detail is not None
    dialog = RecordDetailDialog.from_database(detail)
    qtbot.addWidget(dialog)
    assert dialog.values["anomaly_score"].text() == f"{worst['anomaly_score']:.3f}"  # rounded for the eye
    plain = cv2.imread(str(detail.image), cv2.IMREAD_UNCHANGED)
    worst_map = decode_score_map(worst["anomaly_map"])
    assert worst_map is not None and worst_map.max() > 0
    grey = cv2.cvtColor(plain, cv2.COLOR_GRAY2BGR).astype(int)
    low = with_score_map(plain, np.minimum(worst_map, 0.2))  # below 0.25 the part stays as it is
    assert np.abs(low.astype(int) - grey).max() <= 1
    high = with_score_map(plain, worst_map / worst_map.max())  # its peak at 1: tinted there
    assert np.abs(high.astype(int) - grey).max() > 50


def test_teach_captures_good_parts_trains_registers_writes_the_recipe_and_switches(parts: Path, tmp_path: Path) -> None:
    """'inspection teach' at the cell: 30 good parts from the pylon emulator, a tiny model, the recipe,
    the station switched to it, audited; then the station runs 10 parts with it."""
    station = write_station(tmp_path, image_folder=parts / "good")
    where = ["--config", str(station), "--registry", str(tmp_path / "registry"), "--recipes", str(tmp_path / "recipes")]
    taught = run_cli("teach", "crops", "--capture", "30", "--imgsz", "96", "--switch", *where,
                     "--work", str(tmp_path / "teach"))  # fmt: skip
    assert taught.returncode == 0, taught.stderr
    assert "captured 30/30 good parts (96 x 96)" in taught.stderr
    assert (
        "held-out good parts by score" in taught.stdout and "threshold 0.5 set for 1.0% false rejects" in taught.stdout
    )
    assert len(list((tmp_path / "teach" / "good").glob("good-*.png"))) == 30
    recipe = yaml.safe_load((tmp_path / "recipes" / "crops.yaml").read_text())
    assert recipe["classes"] == ["anomaly"] and (tmp_path / "recipes" / recipe["model"]).resolve() == (
        tmp_path / "registry" / "crops"
    )
    assert yaml.safe_load(station.read_text())["recipe"] == "recipes/crops.yaml"

    summary = run_station(station, parts=10)
    assert summary.records_written == 10 and not summary.errors
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'inspection.db'}")
    with engine.connect() as connection:
        rows = connection.execute(select(InspectionRow.__table__)).mappings().all()
        audit = connection.execute(text("SELECT action, detail FROM audit_log")).all()
    assert {row["recipe_name"] for row in rows} == {"crops"} and all(row["anomaly_score"] is not None for row in rows)
    taught_entries = [json.loads(detail) for action, detail in audit if action == "product_teach"]
    assert (
        len(taught_entries) == 1 and taught_entries[0]["good_parts"] == 30 and taught_entries[0]["source"] == "camera"
    )

    again = run_cli("teach", "crops", "--images", str(parts / "good"), *where, "--work", str(tmp_path / "t2"))
    assert again.returncode != 0 and "named 'crops' exists" in again.stderr
    few = run_cli("teach", "other", "--capture", "5", *where)
    assert few.returncode != 0 and "at least 10" in few.stderr


def test_a_part_fails_by_its_boxes_exactly_when_its_patch_score_reaches_the_threshold() -> None:
    """Scaling the map to the image smooths a lone peak below its value: its region keeps the cell's score."""
    for peak in (0.5, 0.5001, 0.62, 1.7):
        score_map = np.zeros((12, 12), np.float32)
        score_map[5, 7] = peak
        regions = anomaly_regions(score_map, 96, 96, 0.5)
        assert regions and regions[0].confidence == pytest.approx(min(peak, 1.0))
        x1, y1, x2, y2 = regions[0].box
        assert x1 <= 7.5 * 8 <= x2 and y1 <= 5.5 * 8 <= y2  # over the cell
    below = np.full((12, 12), 0.49, np.float32)
    assert anomaly_regions(below, 96, 96, 0.5) == []
    assert [round(d.confidence, 2) for d in anomaly_regions(below, 96, 96, 0.3)] == [0.49]  # one region, a near miss


def test_scores_and_maps_survive_a_locked_database_and_a_kill(parts: Path, registered: Path, tmp_path: Path) -> None:
    """A station with the anomaly model in its own process, read by another while it writes; the database
    write-locked so records wait in the spill journal, then SIGKILL: the restart writes them with their
    scores and maps intact."""
    recipe = tmp_path / "crops.yaml"
    recipe.write_text(yaml.safe_dump({"name": "crops", "model": str(registered), "classes": ["anomaly"]}))
    config = write_station(tmp_path, image_folder=parts / "test/defect", recipe=str(recipe))
    data = tmp_path / "data"
    db, journal = data / "inspection.db", data / JOURNAL_NAME
    station = _start_station(config)
    locker = None
    try:
        _wait_for(lambda: _rows(db) >= 5, "the first records")  # read from this process while it writes
        locker = _hold_write_lock(db, 0)
        _wait_for(lambda: journal.exists() and len(journal.read_bytes().splitlines()) >= 10, "records in the journal")
        station.send_signal(signal.SIGKILL)
        station.wait(timeout=30)
        waiting = SpillJournal(data).read()
    finally:
        station.kill()
        if locker is not None:
            locker.communicate("\n", timeout=30)
    assert len(waiting) >= 10 and all(record.inspection["anomaly_map"] for record in waiting)
    Station(load_station_config(config)).close()  # the restart replays the journal
    engine = open_database(f"sqlite:///{db}")
    with engine.connect() as connection:
        rows = {row["id"]: row for row in connection.execute(select(InspectionRow.__table__)).mappings()}
    for record in waiting:
        row = rows[record.inspection["id"]]
        assert row["anomaly_score"] == record.inspection["anomaly_score"]
        assert row["anomaly_map"] == record.inspection["anomaly_map"]
        assert decode_score_map(row["anomaly_map"]) is not None
    assert all(row["anomaly_score"] is not None for row in rows.values())
    assert not journal.exists()


def test_openvino_export_keeps_scores_and_verdicts(parts: Path, registered: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(registered, registry / "crops")
    exported = offline("export", "--model", "crops", "--format", "openvino", "--registry", str(registry))
    assert exported.returncode == 0, exported.stderr
    assert "parity: 32 images, same verdicts" in exported.stdout
    card = yaml.safe_load((registry / "crops" / "card.yaml").read_text())
    assert card["exports"]["openvino"]["parity"]["max_score_gap"] <= 0.01
    refused = offline("export", "--model", "crops", "--format", "onnx", "--registry", str(registry))
    assert refused.returncode != 0 and "trained as ONNX" in refused.stderr
    scores = {}
    for file in ("model.onnx", "model_openvino/model.xml"):
        result = offline("inspect", str(parts / "test/defect"), "--model", str(registry / "crops" / file), "--json")
        assert result.returncode == 0, result.stderr
        scores[file] = [json.loads(line)["score"] for line in result.stdout.splitlines()]
    assert np.abs(np.subtract(*scores.values())).max() <= 0.01
    report = tmp_path / "report.json"  # an export's file names its model too
    evaluated = offline(
        "evaluate", "--model", str(registry / "crops" / "model_openvino" / "model.xml"), "--data", str(parts / "test"),
        "--json", str(report),
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    assert "Image AUROC" in evaluated.stdout and json.loads(report.read_text())["backend"] == "openvino"
