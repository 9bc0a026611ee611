"""The station's state periods in the database: one row per stretch of running, fault or changeover time
(stopped time has none). The open period's end is moved on as the station runs (``extend``); at the next
start a period a kill left open is closed where it was last extended, and a stop on an error is downtime
until that start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from inspection.recorder.queries import as_utc
from inspection.recorder.schema import StatePeriodRow

STATES = ("running", "fault", "changeover", "output_fault")  # the last overlaps the others
STATION_FAULT = "station"  # the cause of a stop on an error: down until the station is started again


def product_key(name: str, recipe_sha256: str | None) -> str:
    """A product as the statistics group it: its name and the first 12 hex digits of its effective recipe."""
    return name if recipe_sha256 is None else f"{name}@{recipe_sha256[:12]}"


@dataclass(frozen=True)
class StatePeriod:
    station: str
    state: str  # running | fault | changeover; output_fault: a line output's link down, beside them
    cause: str  # a fault's source (camera, plc, mqtt, fleet, station); '' otherwise
    product: str
    started_at: datetime  # UTC
    ended_at: datetime  # UTC
    detail: str = ""

    @property
    def seconds(self) -> float:
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


def begin(engine: Engine, period: StatePeriod) -> int:
    """A new open period; returns its id."""
    with engine.begin() as connection:
        result = connection.execute(
            insert(StatePeriodRow).values(
                station=period.station, state=period.state, cause=period.cause, detail=period.detail[:2000],
                product=period.product, started_at=as_utc(period.started_at), ended_at=as_utc(period.ended_at),
                open=True,
            )
        )  # fmt: skip
        (period_id,) = result.inserted_primary_key or (0,)
        return int(period_id)


def extend(engine: Engine, period_id: int, at: datetime, closed: bool = False) -> None:
    """The period goes on until ``at`` at least (``closed``: it ended there)."""
    values: dict[str, object] = {"ended_at": as_utc(at)}
    if closed:
        values["open"] = False
    with engine.begin() as connection:
        connection.execute(update(StatePeriodRow).where(StatePeriodRow.id == period_id).values(**values))


def close_left_open(engine: Engine, station: str, now: datetime) -> int:
    """At a start: periods an earlier run left open closed (where they were last extended; a stop on an
    error lasts until now). Returns how many."""
    with engine.begin() as connection:
        down = connection.execute(
            update(StatePeriodRow)
            .where(StatePeriodRow.station == station, StatePeriodRow.open.is_(True))
            .where(StatePeriodRow.cause == STATION_FAULT)
            .values(ended_at=as_utc(now), open=False)
        ).rowcount
        cut = connection.execute(
            update(StatePeriodRow)
            .where(StatePeriodRow.station == station, StatePeriodRow.open.is_(True))
            .values(open=False)
        ).rowcount
    return int(down) + int(cut)


def read_periods(
    engine: Engine, station: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> list[StatePeriod]:
    """Periods overlapping [since, until), oldest first, clipped to it."""
    table = StatePeriodRow
    columns = (table.station, table.state, table.cause, table.product, table.started_at, table.ended_at, table.detail)
    query = select(*columns).order_by(table.started_at, table.id)
    if station is not None:
        query = query.where(StatePeriodRow.station == station)
    if since is not None:
        query = query.where(StatePeriodRow.ended_at > as_utc(since))
    if until is not None:
        query = query.where(StatePeriodRow.started_at < as_utc(until))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    low = as_utc(since) if since is not None else None
    high = as_utc(until) if until is not None else None
    periods = []
    for row in rows:
        start, end = _utc(row.started_at), _utc(row.ended_at)
        start = max(start, low) if low else start
        end = min(end, high) if high else end
        periods.append(StatePeriod(row.station, row.state, row.cause, row.product, start, end, row.detail))
    return periods


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
