"""The shift counters: what the database holds for the current shift, plus what the running station
counted since the database was last asked. So they survive Start / Stop and a restart of the app, and
cost one small query per Start, per stop and per shift change, not one per part."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gui.timefmt import clock_time
from inspection.config.shifts import ShiftCalendar

# (since, station) -> (parts, failed) recorded from ``since`` on
CountRecorded = Callable[[datetime, str], tuple[int, int]]


@dataclass(frozen=True)
class ShiftCounts:
    shift: str  # "2026-12-03 late"
    since: str  # the shift's start, for people ("14:00 CET")
    parts: int
    failed: int

    @property
    def yield_pct(self) -> float | None:
        return None if self.parts == 0 else 100.0 * (self.parts - self.failed) / self.parts


class ShiftTally:
    def __init__(self, calendar: ShiftCalendar, station: str, count_recorded: CountRecorded) -> None:
        self.calendar = calendar
        self.station = station
        self._count = count_recorded
        self._label = ""
        self._start = datetime.now(UTC)
        self._base = (0, 0)  # (parts, failed) in the database when last asked
        self._live_at_base = (0, 0)  # the station's own (parts, failed) at that moment

    def rebase(self, live_parts: int = 0, live_failed: int = 0, now: datetime | None = None) -> None:
        """Ask the database again: at a Start (the station's counts are 0 then), after a stop (every
        record written), and when the shift changes (``live_*``: the station's counts at that moment)."""
        moment = now or datetime.now(UTC)
        day, name = self.calendar.shift_of(moment)
        self._label = f"{day.isoformat()} {name}"
        self._start = self.calendar.bounds(day, name)[0]
        self._base = self._count(self._start, self.station)
        self._live_at_base = (live_parts, live_failed)

    def counts(self, live_parts: int, live_failed: int, now: datetime | None = None) -> ShiftCounts:
        """The shift so far, given the running station's counts since its start."""
        moment = now or datetime.now(UTC)
        if self.calendar.label(moment) != self._label:
            self.rebase(live_parts, live_failed, moment)
        parts = self._base[0] + live_parts - self._live_at_base[0]
        failed = self._base[1] + live_failed - self._live_at_base[1]
        return ShiftCounts(self._label, clock_time(self._start), parts, failed)
