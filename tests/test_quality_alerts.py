"""Alerts on a real SQLite file: planted streams of verdicts fire each rule at the part worked out by
hand, once (no storm), clear, re-arm; acknowledgement is recorded; a real station raises them too."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_cli, run_station, write_station
from pydantic import TypeAdapter
from sqlalchemy import Engine, select
from test_measurement_station import template_recipe

from inspection.config.alert_rules import AlertRule
from inspection.core.errors import StationError
from inspection.core.events import AlertCleared, AlertRaised, CameraFault, InspectionDone, StateChanged, StatsUpdate
from inspection.core.status import CameraCounts, PartCounts, StationStatus
from inspection.core.types import Detection, InspectionRecord, Verdict
from inspection.quality.alerts import AlertMonitor, acknowledge, list_alerts
from inspection.recorder.accounts import create_user
from inspection.recorder.database import open_database
from inspection.recorder.schema import AuditRow
from inspection.recorder.synthetic import History, fill


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


STATUS = StationStatus(PartCounts(), CameraCounts())


def rules(*specs: dict[str, Any]) -> list[Any]:
    return [TypeAdapter(AlertRule).validate_python(spec) for spec in specs]


def done(failed: bool, labels: tuple[str, ...] = ()) -> InspectionDone:
    kept = tuple(Detection(label, 0, 0.9, (0.0, 0.0, 10.0, 10.0)) for label in labels)
    record = InspectionRecord(
        id=InspectionRecord.new_id(), timestamp=0.0, station="s", camera="c", recipe_name="r", recipe_version="1",
        model_name="m", model_sha256="0" * 64, verdict=Verdict.FAIL if failed else Verdict.PASS, reasons=(),
        detections=kept, latencies_ms={}, kept=kept,
    )  # fmt: skip
    return InspectionDone(record)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_database(f"sqlite:///{tmp_path / 'alerts.db'}")


def monitor(engine: Engine, tmp_path: Path, *specs: dict[str, Any]) -> tuple[AlertMonitor, list[Any], Clock]:
    events: list[Any] = []
    clock = Clock()
    return AlertMonitor(rules(*specs), engine, "s", tmp_path, events.append, clock), events, clock


def raised_at(monitor: AlertMonitor, events: list[Any], stream: list[bool]) -> list[int]:
    """Feed verdicts (True = fail); the part indexes at which an alert was raised."""
    found = []
    for index, failed in enumerate(stream):
        before = len(events)
        monitor.on_event(done(failed))
        found += [index for event in events[before:] if isinstance(event, AlertRaised)]
    return found


def test_fail_rate_fires_once_when_the_window_crosses_the_limit(engine: Engine, tmp_path: Path) -> None:
    alerts, events, _ = monitor(engine, tmp_path, {"rule": "fail_rate", "window": 20, "above": 0.25})
    # 10% fails (parts 0, 10, ..., 50), then every other part fails from part 60 on. The last 20 parts
    # ending at part 67 hold fails 50, 60, 62, 64, 66 (25%, not above); ending at 68 also 68 (30%).
    stream = [i % 10 == 0 for i in range(60)] + [i % 2 == 0 for i in range(60, 120)]
    assert raised_at(alerts, events, stream) == [68]
    assert [type(e) for e in events] == [AlertRaised]
    (row,) = list_alerts(engine)
    assert row["rule"] == "fail_rate" and row["cleared_at"] is None and "30.0% of the last 20" in row["message"]


def test_consecutive_fails_clear_on_a_pass_and_re_arm(engine: Engine, tmp_path: Path) -> None:
    alerts, events, _ = monitor(engine, tmp_path, {"rule": "consecutive_fails", "count": 3})
    stream = [True, True, True, True, False, True, True, True, False]
    assert raised_at(alerts, events, stream) == [2, 7]
    assert [type(e).__name__ for e in events] == ["AlertRaised", "AlertCleared", "AlertRaised", "AlertCleared"]
    assert all(row["cleared_at"] is not None for row in list_alerts(engine))


def test_spc_rule_fires_at_the_drifting_subgroup(engine: Engine, tmp_path: Path) -> None:
    spec = {"rule": "spc", "subgroup": 10, "baseline": 5, "rules": ["beyond_3_sigma"]}
    alerts, events, _ = monitor(engine, tmp_path, spec)
    # Five baseline subgroups of 10 parts with one fail each (p = 0.1, UCL 0.1 + 3 x 0.095 = 0.385), one
    # more like them, then a subgroup with 6 fails (0.6): it completes at part 69.
    stream = [i % 10 == 0 for i in range(60)] + [i < 6 for i in range(10)]
    assert raised_at(alerts, events, stream) == [69]
    assert "beyond_3_sigma" in list_alerts(engine)[0]["message"]


def test_class_above_its_usual_rate(engine: Engine, tmp_path: Path) -> None:
    # History: 10% of parts fail with 1-3 defects, a fifth of them 'short': about 0.04 shorts a part.
    fill(engine, History(datetime.now(UTC) - timedelta(days=2), 5000, 20.0, 0.1, stations=("s",)))
    alerts, events, _ = monitor(engine, tmp_path, {"rule": "class_rate", "label": "short", "window": 50, "factor": 3})
    usual = alerts.watches[0].usual
    assert usual is not None and 0.02 < usual < 0.06
    fired = []
    for index in range(100):  # a short on every fifth part: 0.2 a part, about 5 times the usual rate
        before = len(events)
        alerts.on_event(done(index % 5 == 0, ("short",) if index % 5 == 0 else ()))
        fired += [index for e in events[before:] if isinstance(e, AlertRaised)]
    assert fired == [49]  # as soon as the window of 50 parts is full


def test_camera_fault_no_parts_and_disk_space(engine: Engine, tmp_path: Path) -> None:
    alerts, events, clock = monitor(
        engine, tmp_path, {"rule": "camera_fault", "clear_after_s": 30}, {"rule": "no_parts", "minutes": 1},
        {"rule": "disk_space", "below_mb": 1e12},  # more than any disk here: always firing
    )  # fmt: skip
    alerts.on_event(StateChanged("running"))
    alerts.on_event(CameraFault("cam", "grab timeout"))
    alerts.on_event(CameraFault("cam", "grab timeout"))  # still the same alert
    alerts.on_event(StatsUpdate(STATUS))
    assert [e.rule for e in events if isinstance(e, AlertRaised)] == ["camera fault", "disk space below 1e+12 MB"]
    clock.now += 61
    alerts.on_event(StatsUpdate(STATUS))
    raised = [e.rule for e in events if isinstance(e, AlertRaised)]
    assert raised[-1] == "no part for 1 minutes"
    assert [e.rule for e in events if isinstance(e, AlertCleared)] == ["camera fault"]  # 61 s without a fault
    alerts.on_event(done(False))
    assert [e.rule for e in events if isinstance(e, AlertCleared)][-1] == "no part for 1 minutes"


def test_acknowledge_records_who_and_when(engine: Engine, tmp_path: Path) -> None:
    alerts, events, _ = monitor(engine, tmp_path, {"rule": "consecutive_fails", "count": 1})
    alerts.on_event(done(True))
    alert_id = events[0].id
    acknowledge(engine, alert_id, "qe-anna", "line stopped, nozzle cleaned")
    (row,) = list_alerts(engine)
    assert row["acknowledged_by"] == "qe-anna" and row["acknowledged_at"] is not None
    assert list_alerts(engine, open_only=True) == []
    with pytest.raises(StationError, match="acknowledged by qe-anna already"):
        acknowledge(engine, alert_id, "someone")
    with pytest.raises(StationError, match="no alert 999"):
        acknowledge(engine, 999, "someone")
    with engine.connect() as connection:
        audit = connection.execute(select(AuditRow.username, AuditRow.action)).all()
    assert ("qe-anna", "alert_ack") in [tuple(row) for row in audit]


def test_bad_alert_rules_are_refused_with_the_key_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="class_rate needs 'above'"):
        rules({"rule": "class_rate", "label": "short"})
    with pytest.raises(ValueError, match="unknown SPC rules"):
        rules({"rule": "spc", "rules": ["9_in_a_row"]})


def test_a_running_station_raises_alerts_and_the_cli_acknowledges_them(tmp_path: Path) -> None:
    config = write_station(
        tmp_path,
        recipe=str(template_recipe(tmp_path)),
        alerts=[{"rule": "consecutive_fails", "count": 1, "name": "any fail"}],
    )
    raised: list[AlertRaised] = []
    summary = run_station(config, lambda station: station.bus.subscribe(
        lambda e: raised.append(e) if isinstance(e, AlertRaised) else None), parts=10)  # fmt: skip
    fails = summary.stats.failed
    assert fails == 5  # the sample alternates defective boards and good ones
    listed = run_cli("alerts", "--config", str(config), "list", "--json")
    assert listed.returncode == 0, listed.stderr
    alerts = json.loads(listed.stdout)
    assert len(alerts) == fails and {a["title"] for a in alerts} == {"any fail"}
    assert sorted(e.id for e in raised) == sorted(a["id"] for a in alerts)
    ack = run_cli("alerts", "--config", str(config), "ack", str(alerts[0]["id"]), "--by", "operator-1")
    assert ack.returncode == 0, ack.stderr
    open_alerts = json.loads(run_cli("alerts", "--config", str(config), "list", "--open", "--json").stdout)
    assert len(open_alerts) == fails - 1
    bad = yaml.safe_load(config.read_text())
    bad["alerts"] = [{"rule": "fail_rate", "above": 2}]
    config.write_text(yaml.safe_dump(bad))
    refused = run_cli("alerts", "--config", str(config), "list")
    assert refused.returncode != 0 and "alerts.0.fail_rate.above" in refused.stderr


def test_the_operator_window_lists_alarms_and_acknowledges_them_with_a_note(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pytestqt")
    from gui_helpers import operator_window  # noqa: PLC0415

    config = write_station(
        tmp_path, recipe=str(template_recipe(tmp_path)), alerts=[{"rule": "consecutive_fails", "count": 2}]
    )
    window = operator_window(qtbot, config)
    alarms = window.alarms
    assert alarms.isHidden()
    window.start(10)  # fail, pass, fail, ...: never two fails in a row
    qtbot.waitUntil(lambda: window.state.shown.kind == "stopped" and not window.controller.running, timeout=60_000)
    assert alarms.isHidden()

    config = write_station(
        tmp_path, recipe=str(template_recipe(tmp_path)), alerts=[{"rule": "consecutive_fails", "count": 1}]
    )
    window = operator_window(qtbot, config)
    alarms = window.alarms
    window.start(4)  # pass, fail, pass, fail: the first alarm clears on part 3, the second stays
    qtbot.waitUntil(lambda: len(alarms.alarms) == 2, timeout=60_000)
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60_000)
    first, newest = min(alarms.alarms), max(alarms.alarms)
    assert alarms.alarms[first].state == "cleared" and alarms.alarms[newest].state == "active"
    assert alarms.heading.text() == "ALARMS: 1 active, 2 listed" and not alarms.isHidden()
    assert alarms.list.item(0).text().startswith("ACTIVE  1 fails in a row")  # newest first
    alarms.note.setText("nozzle cleaned")
    alarms.button.click()  # the newest one nobody has acknowledged
    engine = window.session.services.engine
    rows = {row["id"]: row for row in list_alerts(engine)}
    assert rows[newest]["acknowledged_by"] == "olga" and rows[newest]["note"] == "nozzle cleaned"
    # Acknowledged but still active: it stays listed (amber); the cleared one waits for someone.
    assert alarms.alarms[newest].state == "acknowledged" and set(alarms.alarms) == {first, newest}
    assert alarms.heading.text() == "ALARMS: 0 active, 2 listed"
    restarted = operator_window(qtbot, config)  # the list comes back from the database
    assert {a.id: a.state for a in restarted.alarms.alarms.values()} == {first: "cleared", newest: "acknowledged"}
    restarted.alarms.note.setText("seen")
    restarted.alarms.button.click()  # the cleared one: acknowledged, so done
    assert set(restarted.alarms.alarms) == {newest}


def test_at_a_station_with_accounts_the_cli_ack_names_an_account_or_the_os_user(tmp_path: Path) -> None:
    """``--by`` is no longer free text where the station has accounts: an account and its password (with
    the app's lockout and audit), or no --by and the OS user is recorded."""
    config = write_station(
        tmp_path,
        recipe=str(template_recipe(tmp_path)),
        alerts=[{"rule": "consecutive_fails", "count": 1, "name": "any fail"}],
    )
    run_station(config, parts=4)
    engine = open_database(f"sqlite:///{tmp_path / 'data' / 'inspection.db'}")
    admin = create_user(engine, "ada", "admin-pass-1", "admin", None)
    create_user(engine, "olga", "operator-pass", "operator", admin)
    first, second = [str(a["id"]) for a in list_alerts(engine)][:2]
    ack = lambda *args, env=None: run_cli("alerts", "--config", str(config), "ack", *args, env=env)  # noqa: E731
    assert "not an account of this station" in ack(first, "--by", "operator-1").stderr
    assert "give its password at a terminal, or --password-env" in ack(first, "--by", "olga").stderr
    wrong = ack(first, "--by", "olga", "--password-env", "PW", env={"PW": "guess"})
    assert wrong.returncode == 2 and "wrong user name or password" in wrong.stderr
    right = ack(first, "--by", "olga", "--password-env", "PW", env={"PW": "operator-pass"})
    assert right.returncode == 0 and "acknowledged by olga" in right.stdout, right.stderr
    anonymous = ack(second)
    assert anonymous.returncode == 0 and f"acknowledged by os:{getpass.getuser()}" in anonymous.stdout
    with engine.connect() as connection:
        trail = [(r.username, r.action) for r in connection.execute(select(AuditRow.username, AuditRow.action))]
    assert ("olga", "login_failed") in trail and ("olga", "login") in trail and ("olga", "alert_ack") in trail
    assert (f"os:{getpass.getuser()}", "alert_ack") in trail
