"""Times for people, in one format everywhere and in the plant's zone (the station's ``shifts.timezone``;
this machine's zone when it has none), with the zone shown. The database keeps UTC (SQLite hands it back
without a zone); records live in memory carry epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

_plant_zone: tzinfo | None = None  # None: this machine's zone


def use_zone(zone: tzinfo | None) -> None:
    """The plant's zone for every time the app shows (set once, from the station file)."""
    global _plant_zone
    _plant_zone = zone


def plant_time(moment: datetime | float) -> datetime:
    aware = (
        datetime.fromtimestamp(moment, UTC)
        if isinstance(moment, int | float)
        else (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))
    )
    return aware.astimezone(_plant_zone)


def local_time(moment: datetime | float) -> str:
    """``2026-12-03 14:05:09 CET``."""
    return plant_time(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


def clock_time(moment: datetime | float) -> str:
    """``14:00 CET``."""
    return plant_time(moment).strftime("%H:%M %Z")


def zone_name() -> str:
    return datetime.now(UTC).astimezone(_plant_zone).strftime("%Z")
