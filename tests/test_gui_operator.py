"""The operator window (real widgets, offscreen) driving the real station: pylon emulator, bundled model,
a real SQLite file."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from conftest import ROOT, write_station

pytest.importorskip("pytestqt")

from gui_helpers import operator_window

from gui.operator_window import OperatorWindow
from inspection.recorder.audit import entries


@pytest.fixture
def window(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    window = operator_window(qtbot, write_station(tmp_path))
    yield window
    window.controller.stop()
    window.controller.wait(30)


def test_start_see_verdicts_arrive_then_stop(window: OperatorWindow, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(window.start_button, qtbot_button())
    qtbot.waitUntil(lambda: window.shown >= 3, timeout=60_000)
    assert window.verdict.verdict.text() in ("PASS", "FAIL")
    assert window.state.shown.kind == "running"
    assert not window.start_button.isEnabled() and window.stop_button.isEnabled()
    qtbot.mouseClick(window.stop_button, qtbot_button())
    qtbot.waitUntil(lambda: window.state.shown.kind == "stopped", timeout=60_000)
    assert window.start_button.isEnabled()
    parts = int(window.counters.value("parts"))
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        recorded, failed = db.execute("SELECT count(*), sum(verdict = 'fail') FROM inspections").fetchone()
    assert parts == recorded > 0  # the counters are the station's own: every grabbed part recorded
    assert int(window.counters.value("fail")) == failed
    trail = [(e.username, e.action) for e in entries(window.session.services.engine)]
    assert ("olga", "start") in trail and ("olga", "stop") in trail


LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


def test_stop_works_while_the_database_refuses_writes_and_says_so(
    window: OperatorWindow, qtbot, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """Another program holds a write lock: Stop still stops the line, the missing audit entry is shown,
    and every part is recorded once the database is free again (at the next start)."""
    db = tmp_path / "data" / "inspection.db"
    window.start()
    qtbot.waitUntil(lambda: window.shown >= 3, timeout=60_000)
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        qtbot.mouseClick(window.stop_button, qtbot_button())
        qtbot.waitUntil(lambda: window.state.shown.kind == "stopped", timeout=60_000)
        assert "audit trail could not record 'stop'" in window.message.text()
        assert window.start_button.isEnabled() and not window.stop_button.isEnabled()
        parts = int(window.counters.value("parts"))
    finally:
        locker.communicate("\n", timeout=30)
    window.start(2)  # the next start writes what waited first
    qtbot.waitUntil(lambda: window.state.shown.kind == "stopped" and not window.controller.running, timeout=60_000)
    with sqlite3.connect(db) as connection:
        recorded = connection.execute("SELECT count(*) FROM inspections").fetchone()[0]
    assert recorded == parts + 2


def test_a_station_that_cannot_start_says_why(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_station(tmp_path, camera={"type": "pylon", "emulated": 2, "serial": "no-such-camera"})
    window = operator_window(qtbot, config)
    window.start()
    qtbot.waitUntil(lambda: "no-such-camera" in window.message.text(), timeout=60_000)
    assert window.start_button.isEnabled()
    assert window.state.shown.kind == "error"


def test_screenshot_of_the_demo_station(tmp_path: Path) -> None:
    out = tmp_path / "operator.png"
    config = write_station(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "gui.app", "--config", str(config), "--screenshot", str(out), "--parts", "12"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env={**_env(), "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] >= 1000
    # The verdict panel is red (FAIL) or green (PASS), not the idle grey.
    b, g, r = (int(v) for v in image[60, image.shape[1] - 200])
    assert (r > 150 and g < 80) or (g > 100 and r < 60), (b, g, r)


def qtbot_button():  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt  # noqa: PLC0415

    return Qt.MouseButton.LeftButton


def _env() -> dict[str, str]:
    import os  # noqa: PLC0415

    return dict(os.environ)


def test_the_bridge_has_a_handler_for_every_event_type(qtbot) -> None:  # type: ignore[no-untyped-def]
    """A new event type the app does not handle fails here by name (it would otherwise vanish)."""
    import typing  # noqa: PLC0415

    from gui.bridge import StationBridge  # noqa: PLC0415
    from inspection.core.events import Event, LineFault  # noqa: PLC0415

    bridge = StationBridge()
    missing = [kind.__name__ for kind in typing.get_args(Event) if kind not in bridge.handlers]
    assert missing == []
    seen: list[tuple[str, str]] = []
    bridge.line_fault.connect(lambda source, message: seen.append((source, message)))
    bridge.deliver(LineFault("plc", "no acknowledgement"))
    qtbot.waitUntil(lambda: seen == [("plc", "no acknowledgement")], timeout=5_000)
