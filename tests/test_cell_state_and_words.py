"""What the cell's screen says, piece by piece: the state the state area shows for each thing the station
reports, the held FAIL and the FAILs of the last minute (a real widget, offscreen, with its own clock), the
reasons in words, and the shift counters across a shift change (a real SQLite file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import run_station, write_station

pytest.importorskip("pytestqt")

from gui.services import StationCounts
from gui.shift_tally import ShiftTally
from gui.station_state import MOMENTARY_FAULT_S, WAITING_AFTER_S, StateTracker
from gui.widgets.verdict import VerdictIndicator
from inspection.config import ClassRule, Recipe, load_station_config
from inspection.config.shifts import ShiftCalendar
from inspection.core.status import CameraCounts
from inspection.core.types import Detection
from inspection.quality.wording import in_words
from inspection.recorder.database import open_station_database


def test_faults_outrank_running_and_last_as_long_as_they_do() -> None:
    tracker = StateTracker()
    tracker.station("running", "", now=0.0)
    assert tracker.shown(1.0).kind == "running"
    tracker.camera(CameraCounts(state="reconnecting", last_fault="camera lost: device removed"))
    shown = tracker.shown(1.0)
    assert shown.kind == "camera_fault" and shown.is_fault and "device removed" in shown.detail
    tracker.camera(CameraCounts(state="open"))
    assert tracker.shown(2.0).kind == "running"
    # A link that is down stays a fault until it is back, however long that takes ...
    tracker.line_link("mqtt", up=False, message="broker lost")
    assert tracker.shown(1000.0).kind == "line_fault" and "MQTT broker: broker lost" in tracker.shown(1000.0).detail
    tracker.line_link("mqtt", up=True, message="connected again")
    assert tracker.shown(1000.0).kind == "running"
    # ... a one-off fault is shown for a while.
    tracker.line_fault("plc", "results not acknowledged", now=2000.0)
    assert tracker.shown(2000.0 + MOMENTARY_FAULT_S - 1).kind == "line_fault"
    assert tracker.shown(2000.0 + MOMENTARY_FAULT_S + 1).kind == "running"
    tracker.failed("camera no-such-camera not found")
    assert tracker.shown(3000.0).kind == "error"
    tracker.station("starting", "", now=3001.0)  # the next start clears it
    assert tracker.shown(3001.0).kind == "starting"


def test_a_triggered_station_without_parts_is_waiting_for_its_trigger() -> None:
    tracker = StateTracker(triggered_by="the PLC's trigger")
    tracker.station("running", "", now=0.0)
    assert tracker.shown(WAITING_AFTER_S - 0.1).kind == "running"
    waiting = tracker.shown(WAITING_AFTER_S + 0.1)
    assert waiting.kind == "waiting" and waiting.detail == "for the PLC's trigger"
    tracker.part(now=10.0)
    assert tracker.shown(10.5).kind == "running"
    assert StateTracker().shown(0.0).kind == "stopped"
    free_running = StateTracker()
    free_running.station("running", "", now=0.0)
    assert free_running.shown(100.0).kind == "running"  # a station that triggers itself never waits


def test_a_fail_is_held_then_the_latest_part_shows_and_fails_are_counted_per_minute(qtbot) -> None:  # type: ignore[no-untyped-def]
    verdict = VerdictIndicator(hold_s=2.0)
    qtbot.addWidget(verdict)
    verdict.hold_fail(["open defect, 1.2 mm"], ("1 x open >= 0.50",), now=100.0)
    verdict.show_part("fail", ["open defect, 1.2 mm"], ("1 x open >= 0.50",), now=100.0)
    verdict.show_part("pass", [], (), now=100.1)  # the next part passes at once
    assert verdict.verdict.text() == "FAIL" and verdict.kind == "fail"
    assert "latest part PASS" in verdict.note.text()
    assert verdict.reason.text() == "open defect, 1.2 mm"
    verdict.rule_button.setChecked(True)  # the rule, on demand
    assert "rule: 1 x open >= 0.50" in verdict.reason.text()
    verdict.redraw(102.5)  # the hold is over
    assert verdict.verdict.text() == "PASS" and verdict.reason.text() == "no defect counted"
    for moment in (110.0, 120.0, 130.0):
        verdict.hold_fail(["short defect, 0.4 mm"], (), now=moment)
    assert "FAILs in the last minute: 4" in verdict.fails_last_minute.text()
    verdict.redraw(165.0)  # the first FAIL (at 100) is more than a minute ago
    assert "FAILs in the last minute: 3" in verdict.fails_last_minute.text()
    verdict.mark_stale(166.0)
    assert verdict.kind == "stale"


def test_reasons_in_words_name_the_failing_classes_with_their_size() -> None:
    recipe = Recipe(
        name="r", model=Path("m.onnx"), classes=["open", "short", "spur"], rules={"spur": ClassRule(max_count=1)}
    )
    kept = [
        Detection("open", 0, 0.9, (10, 10, 22, 14)),
        Detection("short", 1, 0.8, (0, 0, 4, 4)),
        Detection("short", 1, 0.7, (0, 0, 8, 6)),
        Detection("spur", 2, 0.9, (0, 0, 5, 5)),  # one spur is allowed: not a reason
    ]
    assert in_words(kept, recipe, mm_per_px=0.1) == ["2 short defects, largest 0.8 mm", "open defect, 1.2 mm"]
    assert in_words(kept[:1], recipe, mm_per_px=None) == ["open defect, 12 px"]
    assert in_words(kept[3:], recipe, mm_per_px=None) == ["spur defect, 5 px"]  # rules changed since: named anyway


def test_shift_counters_start_again_at_the_shift_change(tmp_path: Path) -> None:
    config_path = write_station(tmp_path)
    run_station(config_path, parts=5)
    config = load_station_config(config_path)
    counts = StationCounts(open_station_database(config.storage))
    now = datetime.now(UTC)
    start = now - timedelta(minutes=30)
    calendar = ShiftCalendar(
        timezone="UTC", starts={"a": start.strftime("%H:%M"), "b": (now + timedelta(minutes=30)).strftime("%H:%M")}
    )
    tally = ShiftTally(calendar, config.station, counts.recorded_since)
    tally.rebase(now=now)
    assert tally.counts(0, 0, now).parts == 5  # recorded earlier in this shift
    assert tally.counts(3, 1, now).parts == 8 and tally.counts(3, 1, now).failed >= 1
    later = now + timedelta(minutes=31)  # shift b began; nothing recorded in it yet
    shown = tally.counts(3, 1, later)
    assert shown.parts == 0 and shown.shift.endswith(" b")
    assert tally.counts(7, 2, later).parts == 4  # the station's parts since the change
    assert StationCounts(open_station_database(config.storage)).recorded_since(later, "another-station") == (0, 0)


def test_a_rule_change_bumps_the_recipe_version() -> None:
    from inspection.station.recipe_edit import next_version  # noqa: PLC0415

    assert [next_version(v) for v in ("1", "1.4", "1.9", "A-7", "rev")] == ["2", "1.5", "1.10", "A-8", "rev.1"]


def test_the_stack_light_follows_the_station_its_alarms_and_faults() -> None:
    from inspection.core.events import AlertCleared, AlertRaised, CameraFault, LineLink, StateChanged  # noqa: PLC0415
    from inspection.outputs.stack_light import Lamps, StackLight  # noqa: PLC0415

    light = StackLight()
    assert light.on_event(StateChanged("starting")) == Lamps(amber=True)
    assert light.on_event(StateChanged("running")) == Lamps(green=True)
    assert light.on_event(AlertRaised(7, "consecutive_fails", "3 fails in a row")) == Lamps(red=True, buzzer=True)
    assert light.on_event(AlertCleared(7, "consecutive_fails")) == Lamps(green=True)
    lost = CameraCounts(state="reconnecting", last_fault="camera lost")
    assert light.on_event(CameraFault("cam", "camera lost", lost)) == Lamps(red=True, buzzer=True)
    assert light.on_event(CameraFault("cam", "back", CameraCounts(state="open"))) == Lamps(green=True)
    assert light.on_event(LineLink("plc", False, "out of reach")) == Lamps(red=True, buzzer=True)
    assert light.on_event(LineLink("plc", False, "out of reach")) is None  # no change, nothing sent
    assert light.on_event(LineLink("plc", True, "back")) == Lamps(green=True)
    assert light.on_event(StateChanged("stopping")) == Lamps(amber=True)
    assert light.on_event(StateChanged("stopped")) == Lamps()
