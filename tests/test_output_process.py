"""The MQTT, fleet and OPC UA outputs in a process of their own (``pipeline.outputs_process``): here the
fleet, forwarding to a central SQLite file, so no server is needed. The process killed mid-run is a line
fault and the station records every part; the station killed takes the outputs' process with it (no
orphan left holding a port); off, the outputs run on the station's threads as before."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, write_station

from inspection.config import load_station_config
from inspection.core.errors import ConfigError
from inspection.core.events import LineFault, LineLink
from inspection.recorder.database import check_sqlite_file
from inspection.station.pipeline import Station

PARTS = 300  # long enough (several seconds) for the outputs' process to be killed and started again mid-run


def fleet_to(central: Path) -> dict[str, object]:
    return {"database_url": f"sqlite:///{central}", "interval_s": 0.1}


def central_count(central: Path) -> int:
    with sqlite3.connect(central) as db:
        return int(db.execute("SELECT count(*) FROM inspections").fetchone()[0])


def forwarded_so_far(central: Path) -> int:
    """As ``central_count``, while the outputs' process may still be making the central schema."""
    try:
        return central_count(central) if central.exists() else 0
    except sqlite3.OperationalError:  # no table yet
        return 0


def wait_for(condition, timeout_s: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_outputs_process_killed_mid_run_is_reported_and_started_again(tmp_path: Path) -> None:
    """Killed mid-run: a line fault and a lost link, the line goes on, a new process takes over (the link
    is back) and forwards every part by the end."""
    central = tmp_path / "central.db"
    station = Station(load_station_config(write_station(tmp_path, fleet=fleet_to(central))))
    assert station.outputs.process is not None and station.outputs.process.names == ["fleet"]
    assert [output.name for output in station.outputs.outputs] == ["control"]  # the rest stays here
    events: list[LineFault | LineLink] = []
    station.bus.subscribe(lambda event: events.append(event) if isinstance(event, LineFault | LineLink) else None)
    summary = []
    runner = threading.Thread(target=lambda: summary.append(station.run(parts=PARTS)), daemon=True)
    runner.start()
    try:
        forwarded = lambda: station.status().outputs.get("fleet", {}).get("forwarded", 0)  # noqa: E731
        wait_for(lambda: forwarded() >= 5)
        first = station.outputs.process.pid
        assert first is not None and first != os.getpid()
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: station.outputs.process.pid not in (first, None))
        runner.join(120)
        assert not runner.is_alive()
    finally:
        station.stop()
        runner.join(30)
        station.close()
    assert summary[0].records_written == PARTS  # the line went on
    ours = [(type(event).__name__, getattr(event, "up", None)) for event in events if event.source == "outputs"]
    assert ours == [("LineFault", None), ("LineLink", False), ("LineLink", True)]
    fault = next(event for event in events if event.source == "outputs")
    assert "ended" in fault.message and "fleet" in fault.message
    assert central_count(central) == PARTS  # the new process forwarded the rest


def test_the_station_killed_takes_its_outputs_process_with_it(tmp_path: Path) -> None:
    config = write_station(tmp_path, fleet=fleet_to(tmp_path / "central.db"))
    station = subprocess.Popen(
        [sys.executable, "-m", "inspection.cli.main", "run", "--config", str(config), "--parts", "100000"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Killed while it writes records and the outputs' process forwards them (reading the same file).
        wait_for(lambda: hosts_of(station.pid) != [] and forwarded_so_far(tmp_path / "central.db") >= 5)
        (host,) = hosts_of(station.pid)
        station.send_signal(signal.SIGKILL)
        station.wait(10)
        wait_for(lambda: not Path(f"/proc/{host}").exists() or zombie(host), timeout_s=15)
    finally:
        station.kill()
    local = tmp_path / "data" / "inspection.db"
    check_sqlite_file(f"sqlite:///{local}")  # sound after the kill (raises on damage)
    with sqlite3.connect(local) as db:
        recorded = int(db.execute("SELECT count(*) FROM inspections").fetchone()[0])
        marked = int(db.execute("SELECT count(*) FROM inspections WHERE forwarded_at IS NOT NULL").fetchone()[0])
    assert recorded >= 5 and 5 <= marked <= central_count(tmp_path / "central.db") <= recorded


def test_a_ctrl_c_at_the_stations_terminal_stops_the_station_and_its_outputs_in_order(tmp_path: Path) -> None:
    """Ctrl-C reaches every process of the terminal's group: the station stops, and its outputs' process
    (which ignores it) forwards every record before it is closed; no fault about it ending."""
    central = tmp_path / "central.db"
    config = write_station(tmp_path, fleet=fleet_to(central))
    station = subprocess.Popen(
        [sys.executable, "-m", "inspection.cli.main", "run", "--config", str(config), "--parts", "100000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal's foreground job
    )
    try:
        wait_for(lambda: hosts_of(station.pid) != [] and forwarded_so_far(central) >= 5)
        os.killpg(station.pid, signal.SIGINT)
        _, errors = station.communicate(timeout=60)
    finally:
        station.kill()
    assert station.returncode == 0, errors
    assert "ended" not in errors, errors
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        recorded = int(db.execute("SELECT count(*) FROM inspections").fetchone()[0])
    assert recorded >= 5 and central_count(central) == recorded


def hosts_of(parent: int) -> list[int]:
    """The outputs' processes whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"inspection.outputs.output_host" in command:
            found.append(int(entry.name))
    return found


def zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z"
    except OSError:
        return True


def test_off_the_outputs_run_on_the_stations_threads(tmp_path: Path) -> None:
    central = tmp_path / "central.db"
    config = write_station(tmp_path, fleet=fleet_to(central), pipeline={"outputs_process": False})
    station = Station(load_station_config(config))
    try:
        assert station.outputs.process is None
        assert [output.name for output in station.outputs.outputs] == ["fleet", "control"]
        station.run(parts=5)
        assert station.status().outputs["fleet"]["forwarded"] == 5
    finally:
        station.close()
    assert central_count(central) == 5


def test_a_start_that_fails_after_the_outputs_started_closes_them(tmp_path: Path) -> None:
    """The PLC's port is taken: the run does not start, and no outputs' process is left holding its own."""
    taken = socket.create_server(("127.0.0.1", 0))
    plc = {"mode": "server", "host": "127.0.0.1", "port": taken.getsockname()[1]}
    config = write_station(tmp_path, fleet=fleet_to(tmp_path / "central.db"), plc=plc)
    station = Station(load_station_config(config))
    try:
        with pytest.raises(ConfigError, match="cannot serve Modbus TCP"):
            station.run(parts=5)
        assert station.outputs.process is not None and station.outputs.process.pid is None
        assert hosts_of(os.getpid()) == []
    finally:
        station.close()
        taken.close()
