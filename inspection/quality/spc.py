"""Statistical process control: p-charts of the fail fraction and u-charts of defects per unit, with
limits from a baseline period and the Western Electric / Nelson run rules.

Subgroups are hours or shifts (sums of the database's time buckets) or runs of N consecutive parts
(numbered in SQL). Limits follow each subgroup's size: centre +- 3 sigma, sigma = sqrt(p(1-p)/n) for a
p-chart and sqrt(u/n) for a u-chart; a lower limit below zero is zero. The run rules look at each point's
distance from the centre in its own sigmas, so they work with unequal subgroups.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, case, func, select

from inspection.config.shifts import ShiftCalendar
from inspection.quality.run_rules import firing_rules
from inspection.quality.yield_stats import time_bucket, time_buckets
from inspection.recorder.queries import RecordFilter
from inspection.recorder.schema import DetectionRow, InspectionRow

ChartKind = Literal["p", "u"]


@dataclass(frozen=True)
class Subgroup:
    label: str
    start: datetime | None
    units: int  # parts inspected
    count: int  # failed parts (p-chart) or counted defects (u-chart)


@dataclass(frozen=True)
class ChartPoint:
    subgroup: Subgroup
    value: float  # fraction failed, or defects per unit
    centre: float
    lower: float
    upper: float
    z: float  # (value - centre) / sigma; 0 when sigma is 0
    rules: tuple[str, ...] = ()  # the rules that fire at this point (it completes their pattern)


@dataclass
class Chart:
    kind: ChartKind
    centre: float
    baseline_subgroups: int
    points: list[ChartPoint] = field(default_factory=list)

    def firing(self) -> list[tuple[int, str]]:
        """(point index, rule) for every rule that fires, in order."""
        return [(index, rule) for index, point in enumerate(self.points) for rule in point.rules]


def chart(kind: ChartKind, subgroups: Sequence[Subgroup], baseline: Sequence[Subgroup]) -> Chart:
    """Control chart of ``subgroups`` with the centre line estimated from ``baseline``."""
    units = sum(s.units for s in baseline)
    if units == 0:
        raise ValueError("the baseline period has no parts: choose a baseline with production in it")
    centre = sum(s.count for s in baseline) / units
    points = []
    for subgroup in subgroups:
        if subgroup.units == 0:
            continue
        value = subgroup.count / subgroup.units
        variance = centre * (1 - centre) if kind == "p" else centre
        sigma = math.sqrt(max(variance, 0.0) / subgroup.units)
        upper = centre + 3 * sigma
        if kind == "p":
            upper = min(1.0, upper)
        z = (value - centre) / sigma if sigma > 0 else 0.0
        points.append(ChartPoint(subgroup, value, centre, max(0.0, centre - 3 * sigma), upper, z))
    return Chart(kind, centre, len(baseline), _with_rules(points))


def _with_rules(points: list[ChartPoint]) -> list[ChartPoint]:
    zs = [p.z for p in points]
    values = [p.value for p in points]
    found = []
    for index, point in enumerate(points):
        fired = firing_rules(zs, values, index)
        found.append(ChartPoint(point.subgroup, point.value, point.centre, point.lower, point.upper, point.z, fired))
    return found


# ---------------------------------------------------------------- subgroups from the database
def by_time(
    engine: Engine,
    where: RecordFilter,
    period: Literal["hour", "shift"],
    calendar: ShiftCalendar,
    kind: ChartKind = "p",
    label: str | None = None,
) -> list[Subgroup]:
    """Hourly or per-shift subgroups: failed parts (p), or counted defects (u; of one class with ``label``)."""
    minutes = calendar.bucket_minutes() if period == "shift" else 60
    buckets = time_buckets(engine, where, minutes)
    defects = _defects_by_bucket(engine, where, minutes, label) if kind == "u" else {}
    groups: dict[str, list[int]] = {}
    starts: dict[str, datetime] = {}
    for bucket in buckets:
        if period == "hour":
            key = calendar.local(bucket.start).strftime("%Y-%m-%d %H:00")
        else:
            key = calendar.label(bucket.start)
        totals = groups.setdefault(key, [0, 0])
        starts.setdefault(key, bucket.start)
        totals[0] += bucket.counts.parts
        totals[1] += bucket.counts.failed if kind == "p" else defects.get(bucket.start, 0)
    return [Subgroup(key, starts[key], units, count) for key, (units, count) in groups.items()]


def _defects_by_bucket(engine: Engine, where: RecordFilter, minutes: int, label: str | None) -> dict[datetime, int]:
    """Counted defects (of one class, or all) per time bucket, in SQL."""
    bucket, start_of = time_bucket(engine, minutes)
    query = (
        select(bucket, func.count().label("n"))
        .select_from(DetectionRow)
        .join(InspectionRow, InspectionRow.id == DetectionRow.inspection_id)
        .where(DetectionRow.counted.is_(True))
    )
    if label is not None:
        query = query.where(DetectionRow.label == label)
    query = where.apply(query).group_by(bucket)
    with engine.connect() as connection:
        return {start_of(r.bucket): int(r.n) for r in connection.execute(query)}


def by_parts(
    engine: Engine, where: RecordFilter, size: int, kind: ChartKind = "p", label: str | None = None
) -> list[Subgroup]:
    """Runs of ``size`` consecutive parts (the last, shorter run is left out: it is still filling)."""
    if size < 2:
        raise ValueError("a subgroup needs at least 2 parts")
    measure: Any
    if kind == "p":
        measure = case((InspectionRow.verdict == "fail", 1), else_=0)
    else:
        counted = select(func.count()).where(
            DetectionRow.inspection_id == InspectionRow.id, DetectionRow.counted.is_(True)
        )
        if label is not None:
            counted = counted.where(DetectionRow.label == label)
        measure = counted.scalar_subquery()
    number = func.row_number().over(order_by=(InspectionRow.created_at, InspectionRow.id))
    ranked = where.apply(select((number - 1).label("rank"), InspectionRow.created_at, measure.label("m"))).subquery()
    group = (ranked.c.rank // size).label("g")
    totals = [func.count().label("units"), func.sum(ranked.c.m).label("found"), func.min(ranked.c.created_at)]
    query = select(group, *totals).group_by(group).order_by(group)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        Subgroup(f"parts {g * size + 1}-{g * size + size}", start, int(units), int(found or 0))
        for g, units, found, start in rows
        if int(units) == size
    ]
