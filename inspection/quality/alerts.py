"""Alerts: rules watched while the station runs, each alert recorded, published and acknowledged.

The monitor listens on the station's event bus (it never slows inspection): every verdict, camera fault
and status tick. A rule that fires raises one alert and stays quiet until its condition clears (no alert
storms); clearing is recorded too. A person acknowledges an alert (who, when), in the app or with
``inspection alerts ack``.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from inspection.config.alert_rules import (
    CameraFaults,
    ClassRate,
    ConsecutiveFails,
    DiskSpace,
    FailRate,
    LineFaults,
    NoParts,
    SpcRule,
    title,
)
from inspection.core.errors import StationError
from inspection.core.events import (
    AlertCleared,
    AlertRaised,
    CameraFault,
    Event,
    InspectionDone,
    LineFault,
    StateChanged,
    StatsUpdate,
)
from inspection.quality.spc import Subgroup, chart
from inspection.quality.yield_stats import pareto
from inspection.recorder.audit import record_action
from inspection.recorder.queries import RecordFilter, count
from inspection.recorder.schema import AlertRow

log = logging.getLogger(__name__)


class _Watch:
    """One rule's state: active or not, and the id of its open alert."""

    def __init__(self, rule: Any) -> None:
        self.rule = rule
        self.title = title(rule)
        self.alert_id: int | None = None
        # The last parts' fails (fail_rate) or defects of the class (class_rate).
        self.recent: deque[int] = deque(maxlen=getattr(rule, "window", 1))
        self.run = 0
        self.subgroup = [0, 0]  # parts, fails of the subgroup being filled (spc)
        self.numbered = 0  # subgroups completed
        self.baseline: list[Subgroup] = []  # the first ones, which give the centre line
        self.after: deque[Subgroup] = deque(maxlen=12)  # the newest ones after the baseline
        self.usual: float | None = None
        self.last_event = 0.0


class AlertMonitor:
    """Watches the rules; subscribe ``on_event`` to the station's bus."""

    def __init__(
        self,
        rules: list[Any],
        engine: Engine,
        station: str,
        data_dir: Path,
        publish: Callable[[Any], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.station = station
        self.data_dir = data_dir
        self.publish = publish
        self.clock = clock
        self.watches = [_Watch(rule) for rule in rules]
        self.running = False
        self.last_part = clock()
        for watch in self.watches:
            if isinstance(watch.rule, ClassRate) and watch.rule.factor is not None:
                watch.usual = usual_rate(engine, station, watch.rule.label, watch.rule.history_days)

    # ------------------------------------------------------------ events
    def on_event(self, event: Event | Any) -> None:
        if isinstance(event, InspectionDone):
            self._part(event.record.verdict.value == "fail", [d.label for d in event.record.kept])
        elif isinstance(event, CameraFault):
            for watch in self._watching(CameraFaults):
                watch.last_event = self.clock()
                self._set(watch, True, f"camera {event.camera}: {event.message}")
        elif isinstance(event, LineFault):
            for watch in self._watching(LineFaults):
                if watch.rule.source in (None, event.source):
                    watch.last_event = self.clock()
                    self._set(watch, True, f"{event.source}: {event.message}")
        elif isinstance(event, StateChanged):
            self.running = event.state == "running"
            self.last_part = self.clock()
        elif isinstance(event, StatsUpdate):
            self.tick()

    def tick(self) -> None:
        """Checks that depend on time, not on parts (each status tick)."""
        now = self.clock()
        for watch in self._watching(NoParts):
            self._set(watch, self.running and now - self.last_part > watch.rule.minutes * 60, "no parts")
        for watch in [*self._watching(CameraFaults), *self._watching(LineFaults)]:
            if watch.alert_id is not None and now - watch.last_event > watch.rule.clear_after_s:
                self._set(watch, False, "")
        for watch in self._watching(DiskSpace):
            free_mb = shutil.disk_usage(self.data_dir).free / 1e6
            self._set(watch, free_mb < watch.rule.below_mb, f"{free_mb:.0f} MB free on {self.data_dir}")

    def _part(self, failed: bool, labels: list[str]) -> None:
        self.last_part = self.clock()
        for watch in self._watching(NoParts):
            self._set(watch, False, "")
        for watch in self.watches:
            rule = watch.rule
            if isinstance(rule, FailRate):
                watch.recent.append(int(failed))
                full = len(watch.recent) == rule.window
                rate = sum(watch.recent) / len(watch.recent)
                self._set(watch, full and rate > rule.above, f"{rate:.1%} of the last {rule.window} parts failed")
            elif isinstance(rule, ConsecutiveFails):
                watch.run = watch.run + 1 if failed else 0
                self._set(watch, watch.run >= rule.count, f"the last {watch.run} parts failed")
            elif isinstance(rule, ClassRate):
                watch.recent.append(labels.count(rule.label))
                self._class_rate(watch)
            elif isinstance(rule, SpcRule):
                self._spc(watch, failed)

    def _class_rate(self, watch: _Watch) -> None:
        rule = watch.rule
        if len(watch.recent) < rule.window:
            return
        rate = sum(watch.recent) / len(watch.recent)
        limits = [rule.above] if rule.above is not None else []
        if rule.factor is not None and watch.usual is not None:
            limits.append(rule.factor * watch.usual)
        limit = min(limits) if limits else None
        usual = f", usually {watch.usual:.4f}" if watch.usual is not None else ""
        message = f"{rule.label}: {rate:.4f} a part over the last {rule.window} parts{usual}"
        self._set(watch, limit is not None and rate > limit, message)

    def _spc(self, watch: _Watch, failed: bool) -> None:
        rule = watch.rule
        watch.subgroup[0] += 1
        watch.subgroup[1] += int(failed)
        if watch.subgroup[0] < rule.subgroup:
            return
        watch.numbered += 1
        subgroup = Subgroup(f"subgroup {watch.numbered}", None, *watch.subgroup)
        watch.subgroup = [0, 0]
        if len(watch.baseline) < rule.baseline:
            watch.baseline.append(subgroup)  # the baseline is still being collected
            return
        watch.after.append(subgroup)
        try:
            latest = chart("p", [*watch.baseline, *watch.after], watch.baseline).points[-1]
        except ValueError:
            return
        fired = [name for name in latest.rules if name in rule.rules]
        self._set(watch, bool(fired), f"{latest.subgroup.label}: {', '.join(fired)} (fail fraction {latest.value:.1%})")

    def _watching(self, kind: type) -> list[_Watch]:
        return [w for w in self.watches if isinstance(w.rule, kind)]

    # ------------------------------------------------------------ raise / clear
    def _set(self, watch: _Watch, firing: bool, message: str) -> None:
        if firing and watch.alert_id is None:
            watch.alert_id = self._record(watch, message)
            log.warning("alert: %s (%s)", watch.title, message)
            self.publish(AlertRaised(watch.alert_id, watch.title, message))
        elif not firing and watch.alert_id is not None:
            with self.engine.begin() as connection:
                connection.execute(
                    update(AlertRow).where(AlertRow.id == watch.alert_id).values(cleared_at=datetime.now(UTC))
                )
            self.publish(AlertCleared(watch.alert_id, watch.title))
            watch.alert_id = None

    def _record(self, watch: _Watch, message: str) -> int:
        with self.engine.begin() as connection:
            result = connection.execute(
                insert(AlertRow).values(
                    station=self.station,
                    rule=watch.rule.rule,
                    title=watch.title,
                    message=message,
                    raised_at=datetime.now(UTC),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])


def usual_rate(engine: Engine, station: str, label: str, days: float) -> float | None:
    """Counted defects of ``label`` per part over the last ``days`` days at ``station`` (SQL); None
    without history."""
    where = RecordFilter(since=datetime.now(UTC) - timedelta(days=days), station=station)
    parts = count(engine, where)
    return dict(pareto(engine, where)).get(label, 0) / parts if parts else None


def list_alerts(engine: Engine, open_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    query = select(AlertRow).order_by(AlertRow.raised_at.desc()).limit(limit)
    if open_only:
        query = query.where(AlertRow.acknowledged_at.is_(None))
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def acknowledge(engine: Engine, alert_id: int, by: str, note: str = "", how: dict[str, str] | None = None) -> None:
    """A person has seen the alert; recorded with the time, and in the audit trail."""
    if not by.strip():
        raise StationError("say who acknowledges the alert (--by NAME)")
    with engine.begin() as connection:
        row = connection.execute(select(AlertRow).where(AlertRow.id == alert_id)).mappings().first()
        if row is None:
            raise StationError(f"no alert {alert_id}; 'inspection alerts list' shows them")
        if row["acknowledged_at"] is not None:
            raise StationError(f"alert {alert_id} was acknowledged by {row['acknowledged_by']} already")
        connection.execute(
            update(AlertRow)
            .where(AlertRow.id == alert_id)
            .values(acknowledged_by=by, acknowledged_at=datetime.now(UTC), note=note)
        )
    record_action(engine, by, "alert_ack", {"alert": alert_id, "rule": row["rule"], "note": note, **(how or {})})
