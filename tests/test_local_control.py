"""``inspection product`` against a running station (pylon emulator, real models, SQLite, the real CLI in
another process): the product switched between two parts without a restart, its status, a refused
product, a socket a killed station left behind, another OS user refused, and no station running."""

from __future__ import annotations

import json
import os
import pwd
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import DEMO_RECIPE, ROOT, run_cli, write_station
from test_changeover import TEMPLATE_RECIPE, _product_file, _records

from inspection.config import load_recipe, load_station_config
from inspection.outputs.local_control import control_socket
from inspection.station.pipeline import Station

NOBODY = 65534


def _wait_for(condition: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)
    assert condition(), "timed out"  # type: ignore[operator]


def _leave_a_stale_socket(path: Path) -> None:
    """What a killed station leaves: the socket file, nobody listening on it."""
    path.parent.mkdir(parents=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()


def _audit(data_dir: Path) -> list[tuple[str, str, dict[str, object]]]:
    with sqlite3.connect(data_dir / "inspection.db") as db:
        rows = db.execute("SELECT username, action, detail FROM audit_log WHERE action LIKE 'cli_%' ORDER BY id")
        return [(user, action, json.loads(detail)) for user, action, detail in rows]


def test_inspection_product_switches_the_running_station_between_two_parts(tmp_path: Path) -> None:
    too_bright = _product_file(tmp_path, "too-bright", TEMPLATE_RECIPE, camera={"exposure_us": 1e12})
    recipes = {1: str(DEMO_RECIPE), 2: str(TEMPLATE_RECIPE), 3: str(too_bright)}
    config = write_station(tmp_path, recipes=recipes)
    data_dir = tmp_path / "data"
    _leave_a_stale_socket(control_socket(data_dir))
    station = Station(load_station_config(config))
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    demo, template = load_recipe(DEMO_RECIPE).name, load_recipe(TEMPLATE_RECIPE).name
    try:
        _wait_for(lambda: station.stats.parts >= 3)
        status = run_cli("product", "status", "--config", str(config))
        assert status.returncode == 0, status.stderr
        assert f"product {demo} v" in status.stdout and "station running" in status.stdout
        listed = run_cli("product", "list", "--config", str(config))
        assert f"{demo} v" in listed.stdout.splitlines()[0] and "<- running" in listed.stdout.splitlines()[0]

        switched = run_cli("product", "select", template, "--config", str(config))  # by name
        assert switched.returncode == 0, switched.stderr
        assert f"recipe {template} ready in" in switched.stdout
        parts_at_switch = station.stats.parts
        assert f"product {template} v" in run_cli("product", "status", "--config", str(config)).stdout

        refused = run_cli("product", "select", "3", "--config", str(config))
        assert refused.returncode == 1 and "refused" in refused.stdout and "exposure_us" in refused.stdout
        unknown = run_cli("product", "select", "no-such-product", "--config", str(config))
        assert unknown.returncode != 0 and "not one of the station's products" in unknown.stderr
        _wait_for(lambda: station.stats.parts >= parts_at_switch + 3)
        assert runner.is_alive()  # one run all along: no restart
    finally:
        station.stop()
        runner.join(60)
        station.close()
    names = [name for name, _, _ in _records(data_dir)]
    switch_at = names.index(template)
    assert switch_at >= 3 and set(names[:switch_at]) == {demo} and set(names[switch_at:]) == {template}
    audited = _audit(data_dir)
    assert [action for _, action, _ in audited] == ["cli_recipe", "cli_recipe"]
    assert {user for user, _, _ in audited} == {f"os:{_user()}"}
    assert audited[0][2]["index"] == 2 and "ready" in str(audited[0][2]["answer"])
    assert str(audited[1][2]["answer"]).startswith("refused")
    assert not control_socket(data_dir).exists()  # a stopped station takes its socket away


def _user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


@pytest.mark.skipif(os.getuid() != 0, reason="another OS user is played by a root child that drops to nobody")
def test_another_os_user_is_refused(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    station = Station(load_station_config(config))
    runner = threading.Thread(target=station.run, daemon=True)
    runner.start()
    try:
        _wait_for(lambda: station.stats.parts >= 1)
        folder = control_socket(tmp_path / "data").parent
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(control_socket(tmp_path / "data").stat().st_mode) == 0o600
        script = (
            "import os, sys; from pathlib import Path\n"
            "from inspection.core.errors import StationError\n"
            "from inspection.outputs.local_control import send_command\n"
            f"os.setgid({NOBODY}); os.setuid({NOBODY})\n"
            "try:\n    send_command(Path(sys.argv[1]), {'command': 'stop'})\n"
            "except StationError as exc:\n    print(exc); sys.exit(3)\n"
        )
        child = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "data")], capture_output=True, text=True, cwd=ROOT, timeout=60
        )
        assert child.returncode == 3, child.stderr
        assert "only the OS user running the station may control it" in child.stdout
        assert runner.is_alive() and not station.stopping  # the stop was not obeyed
    finally:
        station.stop()
        runner.join(60)
        station.close()
    assert _audit(tmp_path / "data") == []


def test_no_station_running_is_a_clear_error(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    result = run_cli("product", "status", "--config", str(config))
    assert result.returncode != 0
    assert f"no station is running on {tmp_path / 'data'}" in result.stderr
    assert "start it with 'inspection run' or the app" in result.stderr
    listed = run_cli("product", "list", "--config", str(config))
    assert listed.returncode == 0 and "no station is running on this data folder" in listed.stdout
