"""The station makes no network connection: Python calls are blocked by an audit hook, and
system calls are traced with strace (when present) to catch native code (pylon, ONNX Runtime, torch)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SAMPLE_IMAGES, write_station

NO_NETWORK = ROOT / "tests" / "no_network.py"
INET = re.compile(r"sa_family=AF_INET6?\b")


def _run_blocked(*args: str, trace: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(NO_NETWORK), *args]
    if trace is not None:
        command = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace), *command]
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOLO_")}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)


def test_station_run_makes_no_network_call(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    result = _run_blocked("run", "--config", str(config), "--parts", "12", "--quiet")
    assert "NETWORK ATTEMPT" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert "12 written" in result.stdout


def test_inspect_makes_no_network_call() -> None:
    result = _run_blocked("inspect", str(SAMPLE_IMAGES), "--json")
    assert "NETWORK ATTEMPT" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed (.ci/run installs it)")
def test_no_inet_system_calls_from_native_code(tmp_path: Path) -> None:
    config = write_station(tmp_path)
    trace = tmp_path / "trace.txt"
    result = _run_blocked("run", "--config", str(config), "--parts", "8", "--quiet", trace=trace)
    assert result.returncode == 0, result.stderr
    inet_calls = [line for line in trace.read_text().splitlines() if INET.search(line)]
    assert inet_calls == []


def test_the_blocker_itself_catches_a_connection() -> None:
    """Guard against a test that cannot fail: a real connection attempt is caught and reported."""
    hook_only = NO_NETWORK.read_text().split("from inspection.cli.main")[0]
    probe = (
        hook_only
        + "try:\n    socket.create_connection(('127.0.0.1', 9), timeout=0.1)\n"
        + "except OSError as exc:\n    print('blocked' if 'blocked' in str(exc) else 'other')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.stdout.strip() == "blocked"


def test_the_blocker_reports_a_forked_child_too() -> None:
    """OpenVINO's telemetry posted from a forked process: such attempts must reach the test's stderr."""
    hook_only = NO_NETWORK.read_text().split("from inspection.cli.main")[0]
    probe = hook_only + (
        "import multiprocessing\n"
        "def child():\n"
        "    try:\n        socket.create_connection(('127.0.0.1', 9), timeout=0.1)\n    except OSError:\n        pass\n"
        "process = multiprocessing.get_context('fork').Process(target=child)\n"
        "process.start()\nprocess.join()\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert "NETWORK ATTEMPT" in result.stderr


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed (.ci/run installs it)")
def test_openvino_sends_no_telemetry(tmp_path: Path) -> None:
    """``import openvino`` would post usage events to Google Analytics unless its telemetry is blocked."""
    model = ROOT / "models" / "deeppcb-yolov8n" / "model_openvino" / "model.xml"
    trace = tmp_path / "trace.txt"
    result = _run_blocked("inspect", str(SAMPLE_IMAGES / "00041082_test.jpg"), "--model", str(model), trace=trace)
    assert result.returncode == 0, result.stderr
    assert "NETWORK ATTEMPT" not in result.stderr, result.stderr
    assert [line for line in trace.read_text().splitlines() if INET.search(line)] == []
