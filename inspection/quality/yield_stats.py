"""Production statistics from the records, aggregated in the database.

The inspections are grouped in SQL into UTC time buckets (an hour, or less when a shift starts off the
hour) with their counts and cycle-time sums; hours, days and shifts are then sums of buckets. Only the
buckets (a few thousand rows for months of production) reach Python, never the records. Cycle-time
percentiles come from a histogram at 0.1 ms, also built in SQL.

Definitions: first-pass yield = parts judged PASS / parts inspected (each record is one part's
inspection; re-inspections are not told apart yet); scrap rate = parts judged FAIL, less those a reviewer
marked a false call, / parts; defects per unit = detections that counted / parts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, Integer, case, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from inspection.config.shifts import ShiftCalendar
from inspection.recorder.queries import RecordFilter
from inspection.recorder.schema import DetectionRow, InspectionRow, ReviewRow

Grouping = Literal["hour", "shift", "day", "recipe", "model", "station"]
GROUPINGS: tuple[Grouping, ...] = ("hour", "shift", "day", "recipe", "model", "station")


@dataclass
class Counts:
    parts: int = 0
    passed: int = 0
    failed: int = 0
    defects: int = 0
    cycle_sum: float = 0.0
    cycle_min: float | None = None
    cycle_max: float | None = None

    def add(self, other: Counts) -> None:
        self.parts += other.parts
        self.passed += other.passed
        self.failed += other.failed
        self.defects += other.defects
        self.cycle_sum += other.cycle_sum
        if other.cycle_min is not None:
            self.cycle_min = other.cycle_min if self.cycle_min is None else min(self.cycle_min, other.cycle_min)
        if other.cycle_max is not None:
            self.cycle_max = other.cycle_max if self.cycle_max is None else max(self.cycle_max, other.cycle_max)

    def as_dict(self) -> dict[str, Any]:
        parts = self.parts or 1
        return {
            "parts": self.parts,
            "pass": self.passed,
            "fail": self.failed,
            "first_pass_yield": round(self.passed / parts, 6) if self.parts else None,
            "fail_rate": round(self.failed / parts, 6) if self.parts else None,
            "defects": self.defects,
            "defects_per_unit": round(self.defects / parts, 6) if self.parts else None,
            "cycle_ms": {
                "min": _round(self.cycle_min),
                "mean": round(self.cycle_sum / parts, 3) if self.parts else None,
                "max": _round(self.cycle_max),
            },
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class Statistics:
    totals: Counts
    scrapped: int  # failed and not overturned by a reviewer's false call
    cycle_p50: float | None
    cycle_p99: float | None
    pareto: list[tuple[str, int]]
    by: Grouping
    groups: list[tuple[str, Counts]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        totals = self.totals.as_dict()
        totals["scrap_rate"] = round(self.scrapped / self.totals.parts, 6) if self.totals.parts else None
        totals["cycle_ms"]["p50"] = _round(self.cycle_p50)
        totals["cycle_ms"]["p99"] = _round(self.cycle_p99)
        return {
            "totals": totals,
            "pareto": [{"class": label, "count": count} for label, count in self.pareto],
            "by": self.by,
            "groups": [{"group": key, **counts.as_dict()} for key, counts in self.groups],
        }


def epoch_seconds(engine: Engine, column: Any) -> ColumnElement[Any]:
    """Seconds since 1970 (UTC) of a stored time, in the database's own SQL."""
    if engine.dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.extract("epoch", column), Integer)


def _counts(row: Any) -> Counts:
    return Counts(
        parts=int(row.parts),
        passed=int(row.passed or 0),
        failed=int(row.failed or 0),
        defects=int(row.defects or 0),
        cycle_sum=float(row.cycle_sum or 0.0),
        cycle_min=row.cycle_min,
        cycle_max=row.cycle_max,
    )


def _aggregates() -> list[Any]:
    return [
        func.count().label("parts"),
        func.sum(case((InspectionRow.verdict == "pass", 1), else_=0)).label("passed"),
        func.sum(case((InspectionRow.verdict == "fail", 1), else_=0)).label("failed"),
        func.sum(InspectionRow.defects).label("defects"),
        func.sum(InspectionRow.cycle_ms).label("cycle_sum"),
        func.min(InspectionRow.cycle_ms).label("cycle_min"),
        func.max(InspectionRow.cycle_ms).label("cycle_max"),
    ]


# A recipe is its name, and the first 12 hex digits of its effective content where the records carry it
# (a hand edit of the rules then shows as a group of its own).
_RECIPE = case(
    (InspectionRow.recipe_sha256.is_(None), InspectionRow.recipe_name),
    else_=InspectionRow.recipe_name + "@" + func.substr(InspectionRow.recipe_sha256, 1, 12),
)
COLUMNS = {"recipe": _RECIPE, "model": InspectionRow.model_name, "station": InspectionRow.station}


@dataclass(frozen=True)
class TimeBucket:
    start: datetime  # UTC
    key: str | None  # the recipe, model or station, when grouped by one
    counts: Counts


def time_bucket(engine: Engine, minutes: int) -> tuple[ColumnElement[Any], Callable[[Any], datetime]]:
    """The SQL expression that puts an inspection into its ``minutes``-long UTC bucket (labelled
    ``bucket``), and the function that turns a bucket value into the bucket's start (UTC)."""
    if engine.dialect.name == "sqlite" and minutes == 60:
        # SQLite stores 'YYYY-MM-DD HH:MM:SS...' (UTC): the hour is a prefix, cheaper than strftime.
        hour = func.substr(InspectionRow.created_at, 1, 13).label("bucket")
        return hour, lambda value: datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=UTC)
    size = 60 * minutes
    bucket = (epoch_seconds(engine, InspectionRow.created_at) // size).label("bucket")
    return bucket, lambda value: datetime.fromtimestamp(int(value) * size, UTC)


def time_buckets(engine: Engine, where: RecordFilter, minutes: int, by_column: str | None = None) -> list[TimeBucket]:
    """Counts per ``minutes``-long UTC bucket that has parts (and per recipe, model or station value
    with ``by_column``), oldest first: one scan of the covering index."""
    bucket, start_of = time_bucket(engine, minutes)
    keys = [bucket] if by_column is None else [bucket, COLUMNS[by_column].label("key")]
    query = where.apply(select(*keys, *_aggregates())).group_by(*keys).order_by(bucket)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [TimeBucket(start_of(row.bucket), None if by_column is None else str(row.key), _counts(row)) for row in rows]


def _cycle_percentiles(engine: Engine, where: RecordFilter) -> tuple[float | None, float | None]:
    """p50 and p99 of the cycle time from a 0.1 ms histogram built in the database."""
    tenth = cast(InspectionRow.cycle_ms * 10, Integer).label("tenth")
    query = where.apply(select(tenth, func.count().label("n"))).group_by(tenth).order_by(tenth)
    with engine.connect() as connection:
        histogram = connection.execute(query).all()
    total = sum(int(row.n) for row in histogram)
    if total == 0:
        return None, None
    found: list[float | None] = []
    for share in (0.5, 0.99):
        rank, seen = share * total, 0
        for row in histogram:
            seen += int(row.n)
            if seen >= rank:
                found.append(int(row.tenth) / 10.0)
                break
    return found[0], found[1]


def pareto(engine: Engine, where: RecordFilter) -> list[tuple[str, int]]:
    """Counted defects per class, most frequent first."""
    query = select(DetectionRow.label, func.count().label("n")).where(DetectionRow.counted.is_(True))
    if where != RecordFilter():
        query = query.where(DetectionRow.inspection_id.in_(where.apply(select(InspectionRow.id))))
    query = query.group_by(DetectionRow.label).order_by(func.count().desc(), DetectionRow.label)
    with engine.connect() as connection:
        return [(str(row.label), int(row.n)) for row in connection.execute(query)]


def _overturned(engine: Engine, where: RecordFilter) -> int:
    """Failed parts that a reviewer called a false call (any review saying so)."""
    # Driven from the (small) reviews table: the false calls first, then their inspections by id.
    false_calls = select(ReviewRow.inspection_id).where(ReviewRow.outcome == "false_call").distinct().subquery()
    query = where.apply(
        select(func.count())
        .select_from(false_calls)
        .join(InspectionRow, InspectionRow.id == false_calls.c.inspection_id)
        .where(InspectionRow.verdict == "fail")
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def statistics(
    engine: Engine, where: RecordFilter, by: Grouping = "hour", calendar: ShiftCalendar | None = None
) -> Statistics:
    calendar = calendar or ShiftCalendar()
    # Independent scans, each on its own connection: they run side by side on a multi-core machine.
    with ThreadPoolExecutor(max_workers=4) as pool:
        minutes = calendar.bucket_minutes() if by == "shift" else 60
        column = by if by in COLUMNS else None
        bucketed = pool.submit(time_buckets, engine, where, minutes, column)
        percentiles = pool.submit(_cycle_percentiles, engine, where)
        by_class = pool.submit(pareto, engine, where)
        overturned = pool.submit(_overturned, engine, where)
        buckets = bucketed.result()
        totals = Counts()
        for bucket in buckets:
            totals.add(bucket.counts)
        groups = _groups(buckets, by, calendar)
        p50, p99 = percentiles.result()
        return Statistics(totals, totals.failed - overturned.result(), p50, p99, by_class.result(), by, groups)


def _groups(buckets: list[TimeBucket], by: Grouping, calendar: ShiftCalendar) -> list[tuple[str, Counts]]:
    grouped: dict[str, Counts] = defaultdict(Counts)
    for bucket in buckets:
        key = bucket.key if bucket.key is not None else time_group(bucket.start, by, calendar)
        grouped[key].add(bucket.counts)
    return sorted(grouped.items(), key=lambda item: group_order(item[0], calendar))


def time_group(start: datetime, by: Grouping, calendar: ShiftCalendar) -> str:
    """The hour, day or shift (the calendar's label) a bucket starting at ``start`` (UTC) belongs to."""
    local = calendar.local(start)
    if by == "hour":
        return local.strftime("%Y-%m-%d %H:00%z")
    if by == "day":
        return local.date().isoformat()
    return calendar.label(start)


def group_order(key: str, calendar: ShiftCalendar) -> tuple[str, int]:
    """Shifts of one day in their calendar order (night after late), other keys by text."""
    names = [name for _, name in calendar.ordered()]
    day, _, name = key.partition(" ")
    return (day, names.index(name)) if name in names else (key, 0)
