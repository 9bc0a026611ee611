"""Statistics on real SQLite files: a small history written by hand (numbers worked out by hand), and a
large synthetic one checked against the same numbers computed from its rows in Python."""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import run_cli, write_station
from sqlalchemy import Engine, insert

from inspection.config.shifts import ShiftCalendar
from inspection.quality.yield_stats import statistics
from inspection.recorder.database import open_database
from inspection.recorder.queries import RecordFilter
from inspection.recorder.schema import DetectionRow, InspectionRow, ReviewRow
from inspection.recorder.synthetic import History, fill, rows

BERLIN = ShiftCalendar(timezone="Europe/Berlin", starts={"early": "06:00", "late": "14:00", "night": "22:00"})


def part(engine: Engine, when: datetime, verdict: str, cycle: float, labels: list[str], station: str = "s1") -> str:
    """One inspection written by hand, with its counted detections (``labels``)."""
    record_id = uuid.uuid4().hex
    with engine.begin() as connection:
        connection.execute(
            insert(InspectionRow),
            [{"id": record_id, "created_at": when.astimezone(UTC), "station": station, "camera": "c",
              "recipe_name": "r", "recipe_version": "1", "model_name": "m", "model_sha256": "0" * 64,
              "verdict": verdict, "reasons": "[]", "grab_ms": 1.0, "detect_ms": 1.0, "decide_ms": 0.1,
              "cycle_ms": cycle, "defects": len(labels)}],
        )  # fmt: skip
        for label in labels:
            connection.execute(
                insert(DetectionRow),
                [{"inspection_id": record_id, "label": label, "class_id": 0, "confidence": 0.9, "x1": 0.0,
                  "y1": 0.0, "x2": 1.0, "y2": 1.0, "area": 1.0, "counted": True}],
            )  # fmt: skip
    return record_id


@pytest.fixture
def small(tmp_path: Path) -> Engine:
    """Six parts on 2026-11-24 (Berlin, UTC+1): early shift 2 pass + 1 fail; late shift 1 fail (a false call);
    night shift 1 pass at 23:30 and 1 fail at 05:30 next morning (still Monday's night shift)."""
    engine = open_database(f"sqlite:///{tmp_path / 'small.db'}")
    local = lambda hh, mm, day=24: datetime(2026, 11, day, hh, mm, tzinfo=BERLIN.zone())  # noqa: E731
    part(engine, local(6, 10), "pass", 40.0, [])
    part(engine, local(7, 0), "pass", 50.0, [])
    part(engine, local(13, 59), "fail", 60.0, ["short", "open"])
    false_call = part(engine, local(14, 0), "fail", 70.0, ["short"])
    part(engine, local(23, 30), "pass", 80.0, [])
    part(engine, local(5, 30, day=25), "fail", 100.0, ["short", "spur", "open"])
    review = {"inspection_id": false_call, "created_at": datetime.now(UTC), "reviewer": "qe", "outcome": "false_call"}
    with engine.begin() as connection:
        connection.execute(insert(ReviewRow), [{**review, "boxes": None, "note": ""}])
    return engine


def test_small_history_by_shift_matches_hand_counts(small: Engine) -> None:
    report = statistics(small, RecordFilter(), "shift", BERLIN).as_dict()
    totals = report["totals"]
    assert (totals["parts"], totals["pass"], totals["fail"], totals["defects"]) == (6, 3, 3, 6)
    assert totals["first_pass_yield"] == 0.5
    assert totals["scrap_rate"] == pytest.approx(2 / 6, abs=1e-6)  # one fail was a false call
    assert totals["defects_per_unit"] == 1.0
    assert totals["cycle_ms"] == {"min": 40.0, "mean": 66.667, "max": 100.0, "p50": 60.0, "p99": 100.0}
    assert report["pareto"] == [
        {"class": "short", "count": 3},
        {"class": "open", "count": 2},
        {"class": "spur", "count": 1},
    ]
    groups = {g["group"]: (g["parts"], g["pass"], g["fail"]) for g in report["groups"]}
    assert groups == {"2026-11-24 early": (3, 2, 1), "2026-11-24 late": (1, 0, 1), "2026-11-24 night": (2, 1, 1)}
    assert [g["group"] for g in report["groups"]] == ["2026-11-24 early", "2026-11-24 late", "2026-11-24 night"]


def test_small_history_by_day_hour_and_filters(small: Engine) -> None:
    by_day = statistics(small, RecordFilter(), "day", BERLIN).as_dict()["groups"]
    assert [(g["group"], g["parts"]) for g in by_day] == [("2026-11-24", 5), ("2026-11-25", 1)]
    by_hour = statistics(small, RecordFilter(), "hour", BERLIN).as_dict()["groups"]
    assert by_hour[0]["group"] == "2026-11-24 06:00+0100" and len(by_hour) == 6
    fails = statistics(small, RecordFilter(verdict="fail"), "station", BERLIN).as_dict()
    assert fails["totals"]["parts"] == 3 and fails["groups"] == [fails["groups"][0]]
    assert fails["pareto"][0] == {"class": "short", "count": 3}
    empty = statistics(small, RecordFilter(station="nowhere"), "shift", BERLIN).as_dict()
    assert empty["totals"]["parts"] == 0 and empty["totals"]["first_pass_yield"] is None and empty["groups"] == []


def test_shift_calendar_across_midnight_and_daylight_saving() -> None:
    assert BERLIN.shift_of(datetime(2026, 11, 24, 4, 30, tzinfo=UTC)) == (date(2026, 11, 23), "night")  # 05:30 local
    assert BERLIN.shift_of(datetime(2026, 11, 24, 5, 0, tzinfo=UTC)) == (date(2026, 11, 24), "early")
    assert BERLIN.shift_of(datetime(2026, 7, 1, 4, 0, tzinfo=UTC)) == (date(2026, 7, 1), "early")  # summer: UTC+2
    begin, end = BERLIN.bounds(date(2026, 11, 24), "night")
    assert (begin.hour, end.hour, end.date()) == (22, 6, date(2026, 11, 25))
    assert ShiftCalendar(starts={"a": "06:30", "b": "18:30"}).bucket_minutes() == 30
    assert ShiftCalendar(timezone="Asia/Kolkata").bucket_minutes() == 30  # UTC+5:30 moves every edge


def test_large_synthetic_history_equals_a_direct_count(tmp_path: Path) -> None:
    history = History(datetime(2026, 3, 1, tzinfo=UTC), parts=20_000, interval_s=7.0, fail_rate=0.07,
                      stations=("a", "b", "c"), recipes=("r1", "r2"))  # fmt: skip
    engine = open_database(f"sqlite:///{tmp_path / 'large.db'}")
    fill(engine, history)
    inspections = [row for chunk, _ in rows(history) for row in chunk]
    detections = [d for _, chunk in rows(history) for d in chunk]
    report = statistics(engine, RecordFilter(station="b"), "recipe", BERLIN).as_dict()
    mine = [r for r in inspections if r["station"] == "b"]
    ids = {r["id"] for r in mine}
    assert report["totals"]["parts"] == len(mine)
    assert report["totals"]["fail"] == sum(r["verdict"] == "fail" for r in mine)
    expected_pareto = Counter(d["label"] for d in detections if d["counted"] and d["inspection_id"] in ids)
    assert {p["class"]: p["count"] for p in report["pareto"]} == dict(expected_pareto)
    cycles = sorted(float(r["cycle_ms"]) for r in mine)  # type: ignore[arg-type]
    nearest_rank = cycles[math.ceil(0.99 * len(cycles)) - 1]  # p99 is reported at 0.1 ms, rounded down
    assert nearest_rank - 0.1 <= report["totals"]["cycle_ms"]["p99"] <= nearest_rank
    assert report["totals"]["cycle_ms"]["mean"] == pytest.approx(sum(cycles) / len(cycles), abs=1e-3)
    by_recipe = {g["group"]: g["parts"] for g in report["groups"]}
    assert by_recipe == dict(Counter(str(r["recipe_name"]) for r in mine))
    day = statistics(engine, RecordFilter(), "day", BERLIN).as_dict()["groups"]
    first_day = datetime(2026, 3, 1, tzinfo=BERLIN.zone())
    expected_first = sum(1 for r in inspections if r["created_at"] < first_day + timedelta(days=1))  # type: ignore[operator]
    assert day[0]["parts"] == expected_first


def test_stats_command(small: Engine) -> None:
    result = run_cli("stats", "--database", str(small.url), "--by", "day", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["totals"]["parts"] == 6
    table = run_cli("stats", "--database", str(small.url), "--by", "shift", "--verdict", "fail")
    assert table.returncode == 0 and "first-pass yield 0.00%" in table.stdout and "| shift |" in table.stdout


def test_since_and_until_honour_the_zone_given_across_a_dst_change(tmp_path: Path) -> None:
    """Europe's clocks went forward on 2026-03-29: 06:00 in Berlin is 05:00 UTC on the 28th, 04:00 UTC on the
    30th. Records are stored in UTC; a bound is read in the zone it names, else the plant's (the shift
    calendar's zone, else this machine's: TZ here)."""
    engine = open_database(f"sqlite:///{tmp_path / 'dst.db'}")
    for when in ("2026-03-28T04:30", "2026-03-28T05:30", "2026-03-30T03:30", "2026-03-30T04:30"):
        part(engine, datetime.fromisoformat(when).replace(tzinfo=UTC), "pass", 10.0, [])
    berlin = {"TZ": "Europe/Berlin"}

    def parts(*window: str, config: Path | None = None) -> int:
        where = ("--config", str(config)) if config else ()
        result = run_cli("stats", "--database", str(engine.url), *where, "--json", *window, env=berlin)
        assert result.returncode == 0, result.stderr
        return int(json.loads(result.stdout)["totals"]["parts"])

    assert parts("--since", "2026-03-30T06:00") == 1  # 04:00 UTC (summer time)
    assert parts("--since", "2026-03-30T06:00+02:00") == 1
    assert parts("--since", "2026-03-30T04:00+00:00") == 1
    assert parts("--since", "2026-03-28T06:00", "--until", "2026-03-29") == 1  # 05:00 UTC (winter time)
    assert parts("--since", "2026-03-28T06:00", "--until", "2026-03-30T06:00") == 2
    tokyo = write_station(tmp_path, shifts={"timezone": "Asia/Tokyo"})  # the plant's zone wins over TZ
    assert parts("--since", "2026-03-30T12:00", "--until", "2026-03-30T13:00", config=tokyo) == 1  # 03:00-04:00 UTC
