"""The plant's shift calendar: which shift (and shift date) a moment belongs to.

A shift runs from its start to the next shift's start; a shift that crosses midnight belongs to the date
it started on (the night shift of 22:00 Monday to 06:00 Tuesday is Monday's). Times are the plant's local
time, in its zone (daylight saving included).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inspection.core.errors import ConfigError


class ShiftCalendar(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str | None = Field(
        None, description="IANA zone of the plant, e.g. Europe/Berlin; default: this machine's"
    )
    starts: dict[str, str] = Field(
        default_factory=lambda: {"early": "06:00", "late": "14:00", "night": "22:00"},
        description="shift name -> start time (HH:MM, local)",
    )

    @field_validator("starts")
    @classmethod
    def _times(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("at least one shift")
        for name, text in value.items():
            try:
                time.fromisoformat(text)
            except ValueError:
                raise ValueError(f"shift {name}: start {text!r} is not HH:MM") from None
        return value

    def zone(self) -> ZoneInfo | None:
        if self.timezone is None:
            return None
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"shifts.timezone: unknown time zone {self.timezone!r} (e.g. Europe/Berlin)") from None

    def ordered(self) -> list[tuple[time, str]]:
        return sorted((time.fromisoformat(text), name) for name, text in self.starts.items())

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone())

    def shift_of(self, moment: datetime) -> tuple[date, str]:
        """(shift date, shift name) of a moment."""
        local = self.local(moment)
        starts = self.ordered()
        clock = local.time()
        earlier = [(start, name) for start, name in starts if start <= clock]
        if earlier:
            return local.date(), earlier[-1][1]
        return local.date() - timedelta(days=1), starts[-1][1]  # before the first start: yesterday's last shift

    def label(self, moment: datetime) -> str:
        """``2026-11-24 night``: the shift date and name of a moment."""
        day, name = self.shift_of(moment)
        return f"{day.isoformat()} {name}"

    def bounds(self, day: date, name: str) -> tuple[datetime, datetime]:
        """When shift ``name`` of ``day`` starts and ends (aware datetimes, in the plant's zone)."""
        starts = self.ordered()
        names = [n for _, n in starts]
        if name not in names:
            raise ConfigError(f"no shift named {name!r}; the calendar has {names}")
        index = names.index(name)
        zone = self.zone()
        begin = datetime.combine(day, starts[index][0], tzinfo=zone)
        if index + 1 < len(starts):
            end = datetime.combine(day, starts[index + 1][0], tzinfo=zone)
        else:
            end = datetime.combine(day + timedelta(days=1), starts[0][0], tzinfo=zone)
        if zone is None:
            begin, end = begin.replace(tzinfo=None).astimezone(), end.replace(tzinfo=None).astimezone()
        return begin, end

    def bucket_minutes(self) -> int:
        """The coarsest UTC time bucket whose edges fall on every shift start (60, 30, 15, 5 or 1 minutes):
        statistics are grouped in the database by such buckets, then the buckets by shift."""
        minutes = {start.hour * 60 + start.minute for start, _ in self.ordered()}
        now = datetime.now(self.zone()) if self.zone() else datetime.now().astimezone()
        offset = now.utcoffset() or timedelta(0)
        minutes.add(int(offset.total_seconds() // 60) % 60)  # a zone at UTC+5:30 moves every edge by 30 minutes
        return next(size for size in (60, 30, 15, 5, 1) if all(m % size == 0 for m in minutes))
