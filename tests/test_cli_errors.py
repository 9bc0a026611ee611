"""Bad input: a one-line error that says what to fix, a non-zero exit, no traceback."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import BUNDLED_MODEL, DEMO_RECIPE, ROOT, SAMPLE_IMAGES, run_cli, write_station


def assert_one_line_error(result: object, *needles: str) -> None:
    stderr = result.stderr.strip()  # type: ignore[attr-defined]
    assert result.returncode != 0, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    error_lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, stderr
    for needle in needles:
        assert needle in error_lines[0], error_lines[0]


def _recipe(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load(DEMO_RECIPE.read_text())
    data["model"] = str(BUNDLED_MODEL)
    data.update(changes)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_missing_model_file(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, model=str(tmp_path / "nope.pt"))
    result = run_cli("inspect", str(SAMPLE_IMAGES), "--recipe", str(recipe))
    assert_one_line_error(result, "nope.pt", "not found")


def test_corrupt_model_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pt"
    broken.write_bytes(BUNDLED_MODEL.read_bytes()[:5000])
    result = run_cli("inspect", str(SAMPLE_IMAGES), "--recipe", str(_recipe(tmp_path)), "--model", str(broken))
    assert_one_line_error(result, "broken.pt", "cannot load")


def test_model_classes_do_not_match_recipe(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, classes=["scratch", "dent"])
    result = run_cli("inspect", str(SAMPLE_IMAGES), "--recipe", str(recipe))
    assert_one_line_error(result, "do not match", "scratch")


def test_yaml_unknown_key(tmp_path: Path) -> None:
    config = write_station(tmp_path, colour="blue")
    result = run_cli("run", "--config", str(config), "--parts", "1")
    assert_one_line_error(result, "unknown key 'colour'")


def test_yaml_wrong_type(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, default_rule={"min_confidence": "high"})
    result = run_cli("inspect", str(SAMPLE_IMAGES), "--recipe", str(recipe))
    assert_one_line_error(result, "default_rule.min_confidence")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    bad = tmp_path / "station.yaml"
    bad.write_text("station: [unclosed\n")
    result = run_cli("run", "--config", str(bad), "--parts", "1")
    assert_one_line_error(result, "not valid YAML")


def test_camera_serial_not_connected(tmp_path: Path) -> None:
    config = write_station(
        tmp_path, camera={"type": "pylon", "emulated": 2, "serial": "12345678", "image_folder": str(SAMPLE_IMAGES)}
    )
    result = run_cli("run", "--config", str(config), "--parts", "1")
    assert_one_line_error(result, "12345678", "0815-0000")


def test_unreadable_image_is_reported_and_the_rest_inspected(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(sorted(SAMPLE_IMAGES.iterdir())[0], folder / "a_good.jpg")
    (folder / "b_broken.jpg").write_bytes(b"this is not a jpeg")
    result = run_cli("inspect", str(folder), "--json")
    assert_one_line_error(result, "b_broken.jpg", "not a readable image")
    assert len(result.stdout.strip().splitlines()) == 1  # the good image was still inspected


def test_data_folder_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    config = write_station(tmp_path, storage={"data_dir": str(blocker / "data")})
    result = run_cli("run", "--config", str(config), "--parts", "1")
    assert_one_line_error(result, "not writable")


def test_database_is_not_a_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "inspection.db").write_bytes(b"hello, I am a text file" * 100)
    config = write_station(tmp_path)
    result = run_cli("run", "--config", str(config), "--parts", "1")
    assert_one_line_error(result, "not a valid SQLite database")


def test_database_locked_by_another_program(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    holder = sqlite3.connect(data / "inspection.db", isolation_level=None)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        config = write_station(tmp_path)
        result = run_cli("run", "--config", str(config), "--parts", "1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_one_line_error(result, "locked")


@pytest.mark.parametrize("args", [["run", "--parts", "x"], ["inspect"], ["bogus"]])
def test_usage_errors_exit_non_zero(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_a_database_path_that_does_not_exist_is_an_error_for_readers(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    url = f"sqlite:///{typo}"
    for args in (
        ["stats", "--database", url],
        ["export-log", "--out", str(tmp_path / "log.csv"), "--format", "csv", "--database", url],
        ["alerts", "--database", url, "list"],
    ):
        result = run_cli(*args)
        assert_one_line_error(result, f"{typo}: no such database file")
        assert not typo.exists()
    config = write_station(tmp_path)  # a station that has not run yet: nothing to read, nothing created
    assert_one_line_error(run_cli("stats", "--config", str(config)), "no such database file")
    assert not (tmp_path / "data").exists()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a script's background job starts


@pytest.mark.parametrize(("delay_s", "inherited_ignore"), [(0.3, False), (1.0, True), (2.5, False)])
def test_ctrl_c_stops_run_at_any_moment(tmp_path: Path, delay_s: float, inherited_ignore: bool) -> None:
    config = write_station(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "inspection.cli.main", "run", "--config", str(config), "--duration", "120", "--quiet"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_ignore_sigint if inherited_ignore else None,
    )  # fmt: skip
    time.sleep(delay_s)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)  # far below the 120 s it was asked to run
    assert process.returncode in (0, 130), stderr
    assert "Traceback" not in stderr
    if process.returncode == 0:  # it had started: the summary counts every part, each one recorded
        parts = int(next(line for line in stdout.splitlines() if line.startswith("parts")).split()[1])
        with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
            assert db.execute("SELECT count(*) FROM inspections").fetchone()[0] == parts
    # Nothing is left held: the next run on the same data folder starts and records.
    assert run_cli("run", "--config", str(config), "--parts", "2", "--quiet").returncode == 0


def test_a_recipe_naming_an_unknown_registry_model(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, model="no-such-model")
    result = run_cli("inspect", str(SAMPLE_IMAGES), "--recipe", str(recipe))
    assert_one_line_error(result, "no model named 'no-such-model'", "inspection models list")


def test_leave_one_group_out_with_bad_input(tmp_path: Path) -> None:
    result = run_cli("evaluate", "--cross-groups", str(tmp_path / "nothing"), "--out", str(tmp_path / "logo"))
    assert_one_line_error(result, "nothing", "not a folder")
    shared = ROOT.parent / "shared" / "datasets" / "deeppcb"
    result = run_cli(
        "evaluate", "--cross-groups", str(shared), "--out", str(tmp_path / "logo"), "--groups", "group99999"
    )
    assert_one_line_error(result, "no board group ['group99999']", "group77000")
    assert not (tmp_path / "logo").exists()  # refused before anything is written
    result = run_cli("evaluate", "--data", str(tmp_path))
    assert_one_line_error(result, "give --model and --data")
