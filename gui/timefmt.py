"""Times for people: the database keeps UTC (SQLite hands it back without a zone); show local time."""

from __future__ import annotations

from datetime import UTC, datetime


def local_time(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone().strftime("%Y-%m-%d %H:%M:%S")
