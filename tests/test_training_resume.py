"""Training survives being killed: ``--resume`` continues from the last finished epoch, and
``--resume --epochs N`` changes the planned length."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_cli
from deeppcb_subset import SHARED_DEEPPCB, subset

from inspection.core.errors import StationError
from inspection.ml.training import TrainSettings, cpu_has_bf16_units, train

pytestmark = pytest.mark.skipif(not SHARED_DEEPPCB.is_dir(), reason="needs ../shared/datasets/deeppcb")


def epochs_done(run: Path) -> int:
    results = run / "results.csv"
    return max(0, len(results.read_text().splitlines()) - 1) if results.is_file() else 0


def test_a_killed_run_resumes_where_it_stopped_and_can_be_extended(tmp_path: Path) -> None:
    dataset, run = tmp_path / "dataset", tmp_path / "run"
    imported = run_cli(
        "dataset", "import", str(subset(tmp_path / "deeppcb")), str(dataset), "--val-groups", "group77000"
    )
    assert imported.returncode == 0, imported.stderr
    command = [sys.executable, "-m", "inspection.cli.main", "train", "--data", str(dataset), "--out", str(run),
               "--epochs", "4", "--imgsz", "64", "--batch", "4"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    good = run / "weights" / "last_good.pt"
    while not good.is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # as hard as a power cut
    process.wait()
    killed_at = epochs_done(run)
    assert 1 <= killed_at < 4, "the run should have been killed part-way"

    again = run_cli("train", "--data", str(dataset), "--out", str(run))
    assert again.returncode == 2 and "--resume" in again.stderr  # never silently overwritten

    last = run / "weights" / "last.pt"  # as if the kill had come while ultralytics was writing it
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    resumed = run_cli("train", "--out", str(run), "--resume", "--epochs", "5")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming from last_good.pt" in resumed.stderr
    assert epochs_done(run) == 5
    assert f"epoch {killed_at + 1}/5" in resumed.stderr and "epoch 5/5" in resumed.stderr
    config = yaml.safe_load((run / "train_config.yaml").read_text())
    assert config["epochs"] == 5 and config["changes"][0]["at_epoch"] == killed_at
    # the resumed run keeps its precision: bf16 autocast where this CPU has bf16 units
    assert config["precision"] == "auto"
    assert config["computed_in"] == ("bf16" if cpu_has_bf16_units() else "f32")
    assert ("training in bf16 autocast" in resumed.stderr) == cpu_has_bf16_units()

    finished = run_cli("train", "--out", str(run), "--resume")
    assert finished.returncode == 2 and "finished" in finished.stderr


def test_an_unknown_training_precision_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    refused = run_cli("train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--precision", "fp16")
    assert refused.returncode == 2 and "--precision" in refused.stderr
    with pytest.raises(StationError, match=r"'fp16'.*auto, f32"):
        train(TrainSettings(tmp_path, tmp_path / "run", precision="fp16"))
    assert not (tmp_path / "run").exists()
