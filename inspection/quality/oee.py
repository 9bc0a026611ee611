"""OEE, MTTR and MTBF from the station's state periods and records.

Definitions (one place; README "OEE" says the same):
- planned time: the time the station was started (running, fault and changeover periods; stopped time,
  e.g. outside the shifts, is not planned);
- availability = running time / planned time (faults and changeovers are the downtime);
- performance = ideal time of the parts made (each product's ``ideal_cycle_s`` x its parts) / running
  time, at most 1; unknown when a product has no ideal cycle time (then OEE is unknown too);
- quality = first-pass yield (parts judged PASS / parts);
- OEE = availability x performance x quality;
- MTTR = repair time / faults; MTBF = running time / faults. A fault is one stretch of fault state: the
  camera lost, the PLC registers out of reach, the station stopped on an error (downtime until it is
  started again), or a line output out of reach (MQTT broker, central database: the station inspects on,
  so that time is not downtime, but it is a failure and its repair time counts in MTTR).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, func, select

from inspection.config.shifts import ShiftCalendar
from inspection.quality.yield_stats import COLUMNS, Counts, Grouping, group_order, time_bucket, time_group
from inspection.recorder.queries import RecordFilter
from inspection.recorder.schema import InspectionRow, RecipeRow
from inspection.recorder.state_periods import StatePeriod, read_periods

PRODUCT_KEY = COLUMNS["recipe"]  # a product as the statistics group it (name@hash prefix)


@dataclass
class Oee:
    """Times (s), faults and parts of one group; the figures are properties."""

    running_s: float = 0.0
    fault_s: float = 0.0
    changeover_s: float = 0.0
    output_fault_s: float = 0.0  # a line output out of reach while the station inspected: not downtime
    faults: int = 0
    parts: int = 0
    passed: int = 0
    ideal_s: float | None = 0.0  # None: a product without an ideal cycle time made parts here

    @property
    def planned_s(self) -> float:
        return self.running_s + self.fault_s + self.changeover_s

    def add_period(self, state: str, seconds: float, starts_fault: bool) -> None:
        if state == "running":
            self.running_s += seconds
        elif state == "fault":
            self.fault_s += seconds
            self.faults += int(starts_fault)
        elif state == "output_fault":
            self.output_fault_s += seconds
            self.faults += int(starts_fault)
        else:
            self.changeover_s += seconds

    def add_parts(self, parts: int, passed: int, ideal_cycle_s: float | None) -> None:
        self.parts += parts
        self.passed += passed
        if self.ideal_s is not None:
            self.ideal_s = None if ideal_cycle_s is None else self.ideal_s + ideal_cycle_s * parts

    def as_dict(self) -> dict[str, Any]:
        availability = self.running_s / self.planned_s if self.planned_s > 0 else None
        performance = None
        if self.ideal_s is not None and self.running_s > 0:
            performance = min(1.0, self.ideal_s / self.running_s)
        quality = self.passed / self.parts if self.parts else None
        figures = (availability, performance, quality)
        oee = None if None in figures else availability * performance * quality  # type: ignore[operator]
        return {
            "oee": _round(oee),
            "availability": _round(availability),
            "performance": _round(performance),
            "quality": _round(quality),
            "mttr_s": _round((self.fault_s + self.output_fault_s) / self.faults if self.faults else None, 3),
            "mtbf_s": _round(self.running_s / self.faults if self.faults else None, 3),
            "planned_s": round(self.planned_s, 3),
            "running_s": round(self.running_s, 3),
            "fault_s": round(self.fault_s, 3),
            "changeover_s": round(self.changeover_s, 3),
            "output_fault_s": round(self.output_fault_s, 3),
            "faults": self.faults,
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


GroupKey = Callable[[datetime], str]  # a time group's key of a bucket start (UTC)
TIME_GROUPINGS = ("hour", "shift", "day")


def oee_groups(
    engine: Engine, where: RecordFilter, by: Grouping, calendar: ShiftCalendar, ideal_cycle_s: float | None = None
) -> tuple[Oee, dict[str, Oee]]:
    """The totals and each group's figures: by hour, shift or day (periods cut at the edges), by product
    (``recipe``) or by station; by model there are none. ``ideal_cycle_s`` overrides the products' own."""
    totals, groups = Oee(), defaultdict[str, Oee](Oee)
    bucket_minutes = calendar.bucket_minutes() if by == "shift" else 60
    size = timedelta(minutes=bucket_minutes)
    time_key: GroupKey | None = None
    if by in TIME_GROUPINGS:
        time_key = lambda start: time_group(start, by, calendar)  # noqa: E731
    for period in read_periods(engine, where.station, where.since, where.until):
        if where.recipe and period.product.partition("@")[0] != where.recipe:
            continue
        totals.add_period(period.state, period.seconds, starts_fault=True)  # one fault period: one fault
        for piece_key, seconds, first in _pieces(period, size, time_key, by):
            groups[piece_key].add_period(period.state, seconds, first)
    ideals = _ideal_cycles(engine)
    for start, product, station, sha, parts, passed in _part_counts(engine, where, bucket_minutes):
        ideal = ideal_cycle_s if ideal_cycle_s is not None else ideals.get(sha or "")
        totals.add_parts(parts, passed, ideal)
        key: str | None = time_key(start) if time_key is not None else {"recipe": product, "station": station}.get(by)
        if key is not None:
            groups[key].add_parts(parts, passed, ideal)
    return totals, dict(groups)


def _pieces(period: StatePeriod, size: timedelta, time_key: GroupKey | None, by: str) -> list[tuple[str, float, bool]]:
    """The period's seconds by group key (time groups: cut at the bucket edges); whether it starts there."""
    if time_key is None:
        key = {"recipe": period.product, "station": period.station}.get(by)
        return [] if key is None else [(key, period.seconds, True)]
    pieces = []
    start = period.started_at
    while start < period.ended_at:
        edge = _bucket_start(start, size) + size
        end = min(edge, period.ended_at)
        pieces.append((time_key(_bucket_start(start, size)), (end - start).total_seconds(), start == period.started_at))
        start = end
    return pieces


def _bucket_start(moment: datetime, size: timedelta) -> datetime:
    seconds = int(size.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, UTC)


def add_oee(report: dict[str, Any], totals: Oee, groups: dict[str, Oee], calendar: ShiftCalendar) -> dict[str, Any]:
    """The statistics report (``Statistics.as_dict``) with the OEE figures at its top and in each group;
    a group of planned time without parts (an hour of faults) is added, with zero parts."""
    report.update(totals.as_dict())
    if not groups:
        return report
    listed = {group["group"] for group in report["groups"]}
    for key in groups.keys() - listed:
        report["groups"].append({"group": key, **Counts().as_dict()})
    for group in report["groups"]:
        group.update(groups.get(group["group"], Oee()).as_dict())
    report["groups"].sort(key=lambda group: group_order(group["group"], calendar))
    return report


def _part_counts(
    engine: Engine, where: RecordFilter, bucket_minutes: int
) -> list[tuple[datetime, str, str, str | None, int, int]]:
    """Parts and passes per (bucket start, product, station, recipe hash)."""
    bucket, start_of = time_bucket(engine, bucket_minutes)
    keys = [bucket, PRODUCT_KEY.label("product"), InspectionRow.station, InspectionRow.recipe_sha256]
    passed = func.sum(case((InspectionRow.verdict == "pass", 1), else_=0))
    query = where.apply(select(*keys, func.count(), passed)).group_by(*keys)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [(start_of(row[0]), str(row[1]), str(row[2]), row[3], int(row[4]), int(row[5] or 0)) for row in rows]


def _ideal_cycles(engine: Engine) -> dict[str, float]:
    """Each effective recipe's ideal cycle time, by its hash (recipes without one left out)."""
    with engine.connect() as connection:
        rows = connection.execute(select(RecipeRow.sha256, RecipeRow.content)).all()
    found = {}
    for sha, content in rows:
        value = json.loads(content).get("recipe", {}).get("ideal_cycle_s")
        if value:
            found[sha] = float(value)
    return found
