"""SPC on a real SQLite file with a planted, deterministic history: exactly 18 of 360 parts fail every
hour (5%), then a slow rise over six hours, then a jump to 15%. Which rule fires where is worked out by
hand from the limits below."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from conftest import run_cli
from sqlalchemy import Engine, insert

from inspection.config.shifts import ShiftCalendar
from inspection.quality.spc import Subgroup, by_parts, by_time, chart
from inspection.recorder.database import open_database
from inspection.recorder.queries import RecordFilter
from inspection.recorder.schema import DetectionRow, InspectionRow

START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
PER_HOUR = 360
# Failed parts per hour: 30 hours at 18 (p = 0.05), a rise 19..24 (hours 30-35, within 2 sigma of the
# centre), 18 again (hours 36-39), then 54 (p = 0.15) for hours 40-49.
FAILS = [18] * 30 + [19, 20, 21, 22, 23, 24] + [18] * 4 + [54] * 10
UTC_CALENDAR = ShiftCalendar(timezone="UTC")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('spc') / 'spc.db'}")
    for hour, fails in enumerate(FAILS):
        parts, defects = [], []
        for n in range(PER_HOUR):
            record_id = uuid.UUID(int=hour * 10_000 + n).hex
            failed = n < fails
            parts.append(
                {"id": record_id, "created_at": START + timedelta(hours=hour, seconds=n * 10), "station": "s",
                 "camera": "c", "recipe_name": "r", "recipe_version": "1", "model_name": "m", "model_sha256": "0" * 64,
                 "verdict": "fail" if failed else "pass", "reasons": "[]", "grab_ms": 1.0, "detect_ms": 1.0,
                 "decide_ms": 0.1, "cycle_ms": 50.0, "defects": 1 if failed else 0}
            )  # fmt: skip
            if failed:
                label = "short" if hour >= 40 or n % 2 else "open"  # after the jump, every defect is a short
                defects.append(
                    {"inspection_id": record_id, "label": label, "class_id": 0, "confidence": 0.9, "x1": 0.0,
                     "y1": 0.0, "x2": 1.0, "y2": 1.0, "area": 1.0, "counted": True}
                )  # fmt: skip
        with engine.begin() as connection:
            connection.execute(insert(InspectionRow), parts)
            connection.execute(insert(DetectionRow), defects)
    return engine


def test_p_chart_fires_the_expected_rules_at_the_expected_hours(planted: Engine) -> None:
    groups = by_time(planted, RecordFilter(), "hour", UTC_CALENDAR)
    assert [g.count for g in groups] == FAILS and {g.units for g in groups} == {PER_HOUR}
    result = chart("p", groups, groups[:24])
    sigma = math.sqrt(0.05 * 0.95 / PER_HOUR)  # 0.01149: limits 0.0155 .. 0.0845
    assert result.centre == pytest.approx(0.05)
    assert result.points[0].upper == pytest.approx(0.05 + 3 * sigma) and result.points[0].lower == pytest.approx(
        0.05 - 3 * sigma
    )
    fired: dict[int, set[str]] = {}
    for index, rule in result.firing():
        fired.setdefault(index, set()).add(rule)
    # The rise: fails 19..24 (hours 30-35) are 0.24, 0.48, 0.73, 0.97, 1.21, 1.45 sigma above the centre:
    # never 2 of 3 beyond 2 sigma nor 4 of 5 beyond 1 sigma, but six rising points in a row end at hour 34
    # (18 at hour 29, then 19..23) and at hour 35 (19..24).
    expected = {34: {"6_trending"}, 35: {"6_trending"}}
    # The jump at hour 40: 54/360 = 0.15 is 8.7 sigma above.
    for hour in range(40, 50):
        expected[hour] = {"beyond_3_sigma"}
        if hour >= 41:
            expected[hour].add("2_of_3_beyond_2_sigma")
        if hour >= 43:
            expected[hour].add("4_of_5_beyond_1_sigma")
    # Eight in a row above the centre: hours 30-35 are above, 36-39 sit on it (z = 0), so the run starts at 40.
    for hour in range(47, 50):
        expected[hour].add("8_on_one_side")
    assert fired == expected


def test_u_chart_of_one_class_and_runs_of_parts(planted: Engine) -> None:
    shorts = by_time(planted, RecordFilter(), "hour", UTC_CALENDAR, kind="u", label="short")
    assert [g.count for g in shorts[:2]] == [9, 9] and shorts[40].count == 54
    result = chart("u", shorts, shorts[:24])
    assert result.centre == pytest.approx(9 / PER_HOUR)
    assert "beyond_3_sigma" in result.points[40].rules and not any(p.rules for p in result.points[:30])
    runs = by_parts(planted, RecordFilter(), 720)  # two hours of parts each
    assert len(runs) == len(FAILS) // 2 and runs[0] == Subgroup("parts 1-720", runs[0].start, 720, 36)
    assert runs[-1].count == 108


def test_spc_command(planted: Engine) -> None:
    result = run_cli("spc", "--database", str(planted.url), "--subgroup", "hour", "--baseline", "24", "--json")
    assert result.returncode == 0, result.stderr
    points = json.loads(result.stdout)["points"]
    assert points[40]["rules"] == ["beyond_3_sigma"] and points[35]["rules"] == ["6_trending"]
    table = run_cli(
        "spc", "--database", str(planted.url), "--chart", "u", "--class", "short", "--subgroup", "parts:720"
    )
    assert table.returncode == 0, table.stderr
    assert "u-chart of the defects per unit" in table.stdout and "beyond_3_sigma:" in table.stdout
    bad = run_cli("spc", "--database", str(planted.url), "--subgroup", "weekly")
    assert bad.returncode != 0 and "use hour, shift or parts:N" in bad.stderr
