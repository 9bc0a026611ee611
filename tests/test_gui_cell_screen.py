"""The cell's screen (issue 19, points 1-3 and 5 in part): the state area with the camera fault, the held
FAIL, shift counters from the database, the kiosk and its shortcuts, the manual trigger with a scanned
serial. Real widgets offscreen, the pylon emulator, real SQLite files."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from conftest import SAMPLE_IMAGES, write_station
from PySide6.QtCore import Qt

pytest.importorskip("pytestqt")

from gui_helpers import operator_window

from gui.operator_window import OperatorWindow
from inspection.recorder.audit import entries


def _stopped(window: OperatorWindow) -> bool:
    return window.state.shown.kind == "stopped" and not window.controller.running


def _stop(window: OperatorWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    window.stop()
    qtbot.waitUntil(lambda: _stopped(window), timeout=60_000)


def test_a_lost_camera_replaces_the_verdict_within_a_second_and_clears_after_recovery(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    camera = {
        "type": "pylon", "emulated": 2, "serial": "0815-0000", "image_folder": str(SAMPLE_IMAGES),
        "trigger": {"mode": "software"}, "timeout_ms": 1000,
        "reconnect": {"initial_s": 3.0, "max_s": 3.0},  # the camera stays away for 3 s
    }  # fmt: skip
    window = operator_window(qtbot, write_station(tmp_path, camera=camera))
    window.start()
    qtbot.waitUntil(lambda: window.shown >= 3, timeout=60_000)
    assert window.state.shown.kind == "running" and window.verdict.kind in ("pass", "fail")
    station = window.controller._station
    assert station is not None
    station.camera.source.device.Close()  # type: ignore[attr-defined]  # as if unplugged
    pulled = time.monotonic()
    qtbot.waitUntil(lambda: window.state.shown.kind == "camera_fault", timeout=1_000)  # within 1 s
    seen_after = time.monotonic() - pulled
    assert window.state.shown.title == "CAMERA FAULT" and "camera lost" in window.state.shown.detail
    assert window.verdict.kind == "camera_fault" and window.verdict.verdict.text() == "CAMERA FAULT"
    qtbot.waitUntil(lambda: window.state.shown.kind == "running", timeout=20_000)  # reconnected
    qtbot.waitUntil(lambda: window.verdict.kind in ("pass", "fail"), timeout=20_000)  # a fresh part shown
    assert "reconnect" not in window.message.text()
    _stop(window, qtbot)
    assert window.verdict.kind == "stale"  # the last verdict greyed: the line is stopped
    print(f"camera fault shown {seen_after * 1000:.0f} ms after the camera was pulled")


def test_counters_are_the_shifts_and_survive_stop_start_and_a_restart(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_station(tmp_path)
    window = operator_window(qtbot, config)
    window.start(6)
    qtbot.waitUntil(lambda: _stopped(window), timeout=60_000)
    assert window.counters.value("parts") == "6"
    window.start(4)  # a second run in the same shift: the counters go on
    qtbot.waitUntil(lambda: window.shown >= 1 and _stopped(window), timeout=60_000)
    assert window.counters.value("parts") == "10"
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        failed = db.execute("SELECT count(*) FROM inspections WHERE verdict = 'fail'").fetchone()[0]
    assert window.counters.value("fail") == str(failed)
    assert window.counters.heading.text().startswith("Shift ")
    restarted = operator_window(qtbot, config)  # the app started again: the counters come from the database
    assert restarted.counters.value("parts") == "10" and restarted.counters.value("fail") == str(failed)


def test_the_kiosk_is_left_only_by_an_engineer_and_the_keys_start_and_stop(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_station(tmp_path)
    window = operator_window(qtbot, config, "operator")
    window.kiosk = True  # as inspection-gui --kiosk makes it
    window.close()
    assert window.isVisible()  # an operator cannot close the cell's screen
    assert not window.exit_button.isEnabled()
    window.exit_kiosk()
    assert window.isVisible() and window.panel.message_kind == "error"
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.controller.running and window.shown >= 2, timeout=60_000)
    qtbot.keyClick(window, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: _stopped(window), timeout=60_000)
    trail = [(e.username, e.action, e.detail.get("action")) for e in entries(window.session.services.engine)]
    assert ("olga", "denied", "kiosk_close") in trail and ("olga", "denied", "kiosk_exit") in trail
    assert ("olga", "start", None) in trail and ("olga", "stop", None) in trail

    engineer = operator_window(qtbot, config, "engineer")
    engineer.kiosk = True
    assert engineer.exit_button.isEnabled()
    engineer.exit_kiosk()
    assert not engineer.isVisible()
    trail = [(e.username, e.action) for e in entries(engineer.session.services.engine)]
    assert ("eric", "kiosk_exit") in trail
    window.kiosk = False


def test_manual_trigger_with_a_scanned_serial_and_waiting_for_trigger(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write_station(tmp_path, pipeline={"trigger": "manual"})
    window = operator_window(qtbot, config)
    assert window.trigger_button.isVisible() or not window.isVisible()
    window.start()
    qtbot.waitUntil(lambda: window.state.shown.kind == "waiting", timeout=60_000)  # nobody has triggered
    assert "Trigger (F8)" in window.state.shown.detail
    assert window.shown == 0
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.keyClicks(window.serial, "SN-0042")
    qtbot.keyClick(window.serial, Qt.Key.Key_Return)  # a keyboard-wedge scanner ends with Enter
    qtbot.waitUntil(lambda: window.shown == 1, timeout=30_000)
    assert window.serial.text() == ""
    qtbot.keyClick(window, Qt.Key.Key_F8)  # one more, without a serial
    qtbot.waitUntil(lambda: window.shown == 2, timeout=30_000)
    time.sleep(0.5)
    assert window.shown == 2  # nothing is grabbed without a trigger
    _stop(window, qtbot)
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        serials = [row[0] for row in db.execute("SELECT part_serial FROM inspections ORDER BY created_at, rowid")]
    assert serials == ["SN-0042", None]


def test_a_serial_goes_on_the_next_part_of_a_self_triggered_station(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = operator_window(qtbot, write_station(tmp_path, camera=None))
    window.start()
    qtbot.waitUntil(lambda: window.shown >= 2, timeout=60_000)
    qtbot.keyClicks(window.serial, "LOT7-0001")
    qtbot.keyClick(window.serial, Qt.Key.Key_Return)
    assert "goes on the next part" in window.message.text()
    qtbot.waitUntil(lambda: window.shown >= 6, timeout=60_000)
    _stop(window, qtbot)
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        serials = [row[0] for row in db.execute("SELECT part_serial FROM inspections") if row[0]]
    assert serials == ["LOT7-0001"]  # exactly one part carries it


def test_switching_the_product_changes_over_without_restart_and_a_broken_one_is_refused(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gui_helpers import station_with_own_recipe  # noqa: PLC0415

    config = station_with_own_recipe(tmp_path)
    first = tmp_path / "recipe.yaml"
    other = tmp_path / "other.yaml"
    other.write_text(first.read_text().replace("name: deeppcb-bare-board", "name: board-b"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(first.read_text().replace("name: deeppcb-bare-board", "name: board-c").replace(
        "models/deeppcb-template-regions", "models/no-such-model"))  # fmt: skip
    window = operator_window(qtbot, config, "engineer")
    dialog = window.open_products()
    assert dialog is not None
    qtbot.addWidget(dialog)
    names = [dialog.list.item(row).text() for row in range(dialog.list.count())]
    assert any(name.startswith("board-b v1") for name in names) and any("(now)" in name for name in names)
    window.start()
    qtbot.waitUntil(lambda: window.shown >= 3, timeout=60_000)
    run = window.controller._thread
    window.products.switch(other)
    assert window.state.shown.kind == "changing" and "to board-b" in window.state.shown.detail
    assert window.verdict.kind == "stale"  # the last verdict is not about the part in front any more
    qtbot.waitUntil(lambda: window.state.shown.kind == "running" and window.recipe.name == "board-b", timeout=60_000)
    before = window.shown
    qtbot.waitUntil(lambda: window.shown >= before + 3, timeout=60_000)
    assert "board-b" in window.panel.recipe.text() and window.panel.message_kind == "success"
    assert "ready" in window.message.text() and window.controller._thread is run  # no restart

    window.products.switch(broken)  # its model is not there: refused, the station runs board-b again
    qtbot.waitUntil(lambda: "Product not changed" in window.message.text(), timeout=60_000)
    qtbot.waitUntil(lambda: window.state.shown.kind == "running", timeout=60_000)
    assert window.recipe.name == "board-b" and "no-such-model" in window.message.text()
    assert window.controller._thread is run and run is not None and run.is_alive()
    _stop(window, qtbot)
    with sqlite3.connect(tmp_path / "data" / "inspection.db") as db:
        recipes = [row[0] for row in db.execute("SELECT recipe_name FROM inspections ORDER BY created_at, rowid")]
    assert recipes[0] == "deeppcb-bare-board" and recipes[-1] == "board-b"
    assert recipes == sorted(recipes, key=lambda name: name == "board-b")  # one switch, no part of board-c
    trail = [(e.action, e.detail.get("product")) for e in entries(window.session.services.engine)]
    assert ("product_change", "board-b") in trail and ("product_change", "board-c") not in trail


def test_rules_in_mm_and_their_preview_over_the_last_parts(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gui_helpers import station_with_own_recipe  # noqa: PLC0415

    from gui.rules_dialog import RulesDialog  # noqa: PLC0415
    from inspection.config import load_recipe, load_station_config  # noqa: PLC0415

    config = station_with_own_recipe(tmp_path, measurement={"mm_per_px": 0.0208})
    window = operator_window(qtbot, config, "engineer")
    window.start(12)
    qtbot.waitUntil(lambda: _stopped(window), timeout=60_000)
    dialog = window.open_rules()
    assert isinstance(dialog, RulesDialog)
    qtbot.addWidget(dialog)
    headers = [dialog.table.horizontalHeaderItem(c).text() for c in range(dialog.table.columnCount())]
    assert headers[-2:] == ["min size (mm)", "min area (mm²)"]
    failed = sum(record.verdict.value == "fail" for record in dialog.recent)
    assert len(dialog.recent) == 12 and failed > 0
    for size, _area in dialog.mm_editors.values():
        size.setValue(50.0)  # no defect on a board is 5 cm long: nothing counts
    assert dialog.flipped == (failed, 0) and f"{failed} verdicts flip" in dialog.outcome.text()
    dialog.save()
    recipe = load_recipe(load_station_config(config).recipe)
    assert recipe.default_rule.min_size_mm == 50.0 and recipe.version == "2"


def test_camera_settings_change_the_live_image_and_are_saved_audited(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from gui.camera_dialog import CameraDialog  # noqa: PLC0415
    from inspection.config import load_station_config  # noqa: PLC0415

    config = write_station(tmp_path)
    operator = operator_window(qtbot, config, "operator")
    assert not operator.camera_button.isEnabled() and operator.open_camera() is None
    window = operator_window(qtbot, config, "engineer")
    dialog = window.open_camera()
    assert isinstance(dialog, CameraDialog)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.frames >= 3, timeout=20_000)  # the live image runs
    assert set(dialog.editors) == {"exposure_us", "gain"}
    dialog.editors["exposure_us"].setValue(5000.0)
    dialog.editors["gain"].setValue(6.0)
    assert dialog.source is not None and dialog.source.adjustable()["exposure_us"].value == 5000.0  # on the camera now
    dialog.save()
    assert dialog.result() == dialog.DialogCode.Accepted and dialog.source is None  # the camera given back
    camera = load_station_config(config).camera
    assert camera.exposure_us == 5000.0 and camera.gain == 6.0 and camera.trigger.mode == "software"  # type: ignore[union-attr]
    window.start(3)  # the station runs with them
    qtbot.waitUntil(lambda: _stopped(window) and window.shown >= 1, timeout=60_000)

    again = window.open_camera()
    assert isinstance(again, CameraDialog)
    qtbot.addWidget(again)
    again.trigger.setCurrentText("hardware")
    again.save()
    camera = load_station_config(config).camera
    assert camera.trigger.mode == "hardware" and camera.trigger.line == "Line1" and camera.exposure_us == 5000.0  # type: ignore[union-attr]
    changes = [e.detail for e in entries(window.session.services.engine) if e.action == "camera_settings"]
    first, second = sorted(changes, key=lambda detail: "camera.trigger" in detail)
    assert first["camera.exposure_us"] == {"before": None, "after": 5000.0}
    assert set(second) == {"station", "camera.trigger"} and second["camera.trigger"]["after"] == "hardware"
    trail = [(e.username, e.action, e.detail.get("action")) for e in entries(window.session.services.engine)]
    assert ("olga", "denied", "camera_settings") in trail
