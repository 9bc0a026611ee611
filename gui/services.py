"""What the app's windows ask of the station's data, in one place: they never hold a database engine or
import SQLAlchemy. ``Records`` reads the records (the station's own, or a fleet's central database);
``Accounts`` logs in, adds users and keeps the audit trail; ``StationEdits`` makes the audited changes a
logged-in user may make at the cell (reviews, rules, model, station options, alert acknowledgements)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from inspection.config import ClassRule, Recipe, StationConfig, Storage
from inspection.config.cameras import Trigger
from inspection.config.shifts import ShiftCalendar
from inspection.quality.alerts import acknowledge, list_alerts
from inspection.quality.oee import Oee, oee_groups
from inspection.quality.yield_stats import TimeBucket, pareto, time_buckets, time_group
from inspection.recorder import queries
from inspection.recorder.account_admin import Account, list_accounts, reset_password, set_active, set_role
from inspection.recorder.accounts import Role, User, accounts_were_removed, create_user, has_users, login
from inspection.recorder.audit import AuditEntry, ChainReport, entries, record_action, verify
from inspection.recorder.database import error_reason, open_station_database
from inspection.recorder.queries import RecordDetail, RecordFilter, RecordSummary
from inspection.recorder.reviews import Outcome, Review, ReviewBox, add_review, reviews_of
from inspection.station.recipe_edit import update_rules
from inspection.station.station_edit import choose_model, choose_product, set_camera_settings, set_station_options

UTC_HOURS = ShiftCalendar(timezone="UTC")  # the charts' hours: UTC buckets, shown in the plant's zone


def hour_key(start: datetime) -> str:
    """The key of an hour (its UTC start) in ``Records.oee_by_hour``."""
    return time_group(start, "hour", UTC_HOURS)


class Records:
    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self._engine = engine
        self.data_dir = data_dir  # where the station's images are

    def count(self, where: RecordFilter) -> int:
        return queries.count(self._engine, where)

    def page(self, where: RecordFilter, limit: int, after: tuple[datetime, str] | None = None) -> list[RecordSummary]:
        return queries.page(self._engine, where, limit, after)

    def detail(self, record_id: str) -> RecordDetail | None:
        return queries.detail(self._engine, record_id, self.data_dir)

    def labels(self) -> list[str]:
        return queries.labels(self._engine)

    def stations(self) -> list[str]:
        return queries.stations(self._engine)

    def time_buckets(self, where: RecordFilter, minutes: int) -> list[TimeBucket]:
        return time_buckets(self._engine, where, minutes)

    def oee_by_hour(self, where: RecordFilter) -> tuple[Oee, dict[str, Oee]]:
        """OEE of the range, and per UTC hour (keys: ``hour_key`` of the hour's start)."""
        return oee_groups(self._engine, where, "hour", UTC_HOURS)

    def pareto(self, where: RecordFilter) -> list[tuple[str, int]]:
        return pareto(self._engine, where)


class StationCounts:
    """Counts from the station's own database (never a fleet's): the shift counters."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def recorded_since(self, since: datetime, station: str) -> tuple[int, int]:
        """(parts, failed) this station recorded from ``since`` on."""
        return queries.verdict_counts(self._engine, RecordFilter(since=since, station=station))


class Accounts:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def has_users(self) -> bool:
        return has_users(self._engine)

    def accounts_were_removed(self) -> bool:
        """No account now, but there were some (removed outside the station): no first-run admin then."""
        return accounts_were_removed(self._engine)

    def login(self, username: str, password: str) -> User:
        return login(self._engine, username, password)

    def create_user(self, username: str, password: str, role: Role, by: User | None) -> User:
        return create_user(self._engine, username, password, role, by)

    def users(self) -> list[Account]:
        return list_accounts(self._engine)

    def set_active(self, by: User | None, username: str, active: bool) -> None:
        set_active(self._engine, by, username, active)

    def set_role(self, by: User | None, username: str, role: Role) -> None:
        set_role(self._engine, by, username, role)

    def reset_password(self, by: User | None, username: str, password: str, repeated: str) -> None:
        reset_password(self._engine, by, username, password, repeated)

    def audit(self, username: str, action: str, detail: dict[str, Any]) -> str | None:
        """Record an action; returns why it could not be recorded (None when it was)."""
        try:
            record_action(self._engine, username, action, detail)
        except SQLAlchemyError as exc:
            return error_reason(exc)
        return None

    def audit_trail(self, limit: int) -> list[AuditEntry]:
        return entries(self._engine, limit=limit)

    def audit_chain(self) -> ChainReport:
        """Whether the trail is whole (its keyed hash chain), and where it breaks."""
        return verify(self._engine)


class StationEdits:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def review(
        self, user: User | None, record_id: str, outcome: Outcome, boxes: list[ReviewBox] | None, note: str
    ) -> Review:
        return add_review(self._engine, user, record_id, outcome, boxes, note)

    def reviews_of(self, record_id: str) -> list[Review]:
        return reviews_of(self._engine, record_id)

    def rules(self, user: User | None, recipe: Path, default: ClassRule, rules: dict[str, ClassRule]) -> Recipe:
        return update_rules(self._engine, user, recipe, default, rules)

    def station_options(
        self, user: User | None, station: Path, camera_serial: str | None, archive: str | None
    ) -> StationConfig:
        return set_station_options(self._engine, user, station, camera_serial, archive)

    def camera_settings(
        self, user: User | None, station: Path, settings: dict[str, float], trigger: Trigger | None
    ) -> StationConfig:
        return set_camera_settings(self._engine, user, station, settings, trigger)

    def product(self, user: User | None, station: Path, recipe: Path) -> StationConfig:
        return choose_product(self._engine, user, station, recipe)

    def model(self, user: User | None, folder: Path, recipe: Path, fmt: str) -> Path:
        return choose_model(self._engine, user, folder, recipe, fmt)

    def acknowledge_alert(self, alert_id: int, by: str, note: str = "") -> None:
        acknowledge(self._engine, alert_id, by, note)

    def open_alarms(self, station: str) -> list[dict[str, Any]]:
        """The station's alarms that still need someone: not cleared, or not acknowledged (oldest first)."""
        rows = list_alerts(self._engine, limit=200)
        waiting = [
            r for r in rows if r["station"] == station and (r["cleared_at"] is None or r["acknowledged_at"] is None)
        ]
        return sorted(waiting, key=lambda r: r["id"])


@dataclass(frozen=True)
class Services:
    records: Records
    accounts: Accounts
    edits: StationEdits
    counts: StationCounts
    engine: Engine  # the station's own database (for tests and tools; windows use the services above)

    @classmethod
    def of(cls, engine: Engine, data_dir: Path, records: Engine | None = None) -> Services:
        """Services on the station's database; ``records``: another database the history and charts
        read instead (a fleet's central one)."""
        return cls(
            Records(records or engine, data_dir), Accounts(engine), StationEdits(engine), StationCounts(engine), engine
        )

    @classmethod
    def open(cls, storage: Storage, records: Engine | None = None) -> Services:
        return cls.of(open_station_database(storage), storage.data_dir, records)
