"""Forward a station's records from its local database to the fleet's central one (PostgreSQL).

The station always records locally first (SQLite: inspection never waits on the network). A thread
copies the records not yet forwarded, oldest first, in batches: in one central transaction it inserts
the inspections it does not have yet (by id) and the detections and views of exactly those, then marks the batch
forwarded locally. A crash or a lost connection between the two steps only means the batch is sent
again, and the central database skips what it already has: no duplicates, no loss. While the central
database is out of reach the backlog grows locally and is forwarded when it comes back.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from inspection.config import FleetSettings
from inspection.core.errors import ConfigError, StorageError
from inspection.outputs.base import Output, OutputContext
from inspection.recorder.database import error_reason, open_database
from inspection.recorder.schema import DetectionRow, InspectionRow, InspectionViewRow

log = logging.getLogger(__name__)

_INSPECTION_COLUMNS = [c.name for c in InspectionRow.__table__.columns if c.name != "forwarded_at"]
# A part's rows in other tables, forwarded with it (their own ids are the station's: the central database
# numbers them anew): its detections and, for a part seen by several cameras, its views.
_CHILD_TABLES = [
    (table, [c.name for c in table.__table__.columns if c.name != "id"]) for table in (DetectionRow, InspectionViewRow)
]


def central_url(settings: FleetSettings) -> URL:
    """The URL with the password from its environment variable (never written anywhere)."""
    url = make_url(settings.database_url)
    if settings.password_env is not None:
        password = os.environ.get(settings.password_env)
        if not password:
            raise ConfigError(f"fleet: the environment variable {settings.password_env} is not set (database password)")
        url = url.set(password=password)
    if url.drivername.startswith("postgresql") and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": "5"})  # a vanished host must not hang the forwarder
    return url


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


class FleetForwarder:
    def __init__(
        self,
        settings: FleetSettings,
        local: Engine,
        on_fault: Callable[[str, dict[str, int]], None] | None = None,
        on_link: Callable[[bool, str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.url = central_url(settings)
        self.local = local
        self.on_fault = on_fault
        self.on_link = on_link
        self.counters = {"forwarded": 0, "already_there": 0, "failures": 0}
        self._central: Engine | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-forwarder", daemon=True)
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def close(self, drain_s: float = 5.0) -> None:
        """Forward what is left (for up to ``drain_s`` while the central database answers), then stop."""
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=drain_s + 30)
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline:
            try:
                if self.forward_once() == 0:
                    break
            except (SQLAlchemyError, StorageError, OSError):
                break  # still out of reach: the backlog waits for the next start
        if self._central is not None:
            self._central.dispose()

    def backlog(self) -> int:

        with self.local.connect() as connection:
            query = select(func.count()).select_from(InspectionRow).where(InspectionRow.forwarded_at.is_(None))
            return int(connection.execute(query).scalar_one())

    def _run(self) -> None:
        wait = self.settings.interval_s
        while not self._stop.is_set():
            try:
                forwarded = self.forward_once()
            except (SQLAlchemyError, StorageError, OSError) as exc:
                self._failed(exc)
                wait = min(max(wait * 2, 1.0), self.settings.retry_max_s)
                self._stop.wait(wait)
                continue
            if self._failing:
                self._failing = False
                log.warning("fleet: %s answers again; forwarding the backlog", shown(self.url))
                if self.on_link is not None:
                    self.on_link(True, f"central database {shown(self.url)} answers again")
            wait = self.settings.interval_s
            if forwarded < self.settings.batch:
                self._stop.wait(wait)

    def _failed(self, exc: BaseException) -> None:
        self.counters["failures"] += 1
        if self._central is not None:
            self._central.dispose()  # drop dead connections; the next try connects afresh
        if not self._failing:
            self._failing = True
            message = f"central database {shown(self.url)} out of reach ({error_reason(exc)}); recording locally"
            log.warning("fleet: %s", message)
            if self.on_fault is not None:
                self.on_fault(message, dict(self.counters))
            if self.on_link is not None:
                self.on_link(False, message)

    def _engine(self) -> Engine:
        if self._central is None:
            self._central = open_database(self.url.render_as_string(hide_password=False), busy_timeout_s=5.0)
        return self._central

    def forward_once(self) -> int:
        """Forward one batch; return how many records it held."""
        with self.local.connect() as connection:
            rows = [
                dict(row._mapping)
                for row in connection.execute(
                    select(*[InspectionRow.__table__.c[name] for name in _INSPECTION_COLUMNS])
                    .where(InspectionRow.forwarded_at.is_(None))
                    .order_by(InspectionRow.created_at)
                    .limit(self.settings.batch)
                )
            ]
            if not rows:
                return 0
            ids = [row["id"] for row in rows]
            children = [(table, _rows_of(connection, table, columns, ids)) for table, columns in _CHILD_TABLES]
        central = self._engine()
        with central.begin() as connection:
            new = set(_insert_new(connection, central.dialect.name, rows))
            for table, child_rows in children:
                fresh = [child for child in child_rows if child["inspection_id"] in new]
                if fresh:
                    connection.execute(insert(table), fresh)
        with self.local.begin() as connection:
            connection.execute(
                update(InspectionRow).where(InspectionRow.id.in_(ids)).values(forwarded_at=datetime.now(UTC))
            )
        self.counters["forwarded"] += len(new)
        self.counters["already_there"] += len(ids) - len(new)
        return len(ids)


def _rows_of(connection: Any, table: Any, columns: list[str], ids: list[str]) -> list[dict[str, Any]]:
    """The rows of ``table`` that belong to the inspections ``ids``."""
    statement = select(*[table.__table__.c[name] for name in columns]).where(table.inspection_id.in_(ids))
    return [dict(row._mapping) for row in connection.execute(statement)]


def _insert_new(connection: Any, dialect: str, rows: list[dict[str, Any]]) -> list[str]:
    """Insert the inspections the central database lacks; return their ids."""

    inserts: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if dialect not in inserts:
        raise StorageError(f"fleet: central databases on {dialect} are not supported (PostgreSQL or SQLite)")
    table = InspectionRow.__table__
    # One statement for every batch, given the rows as parameters: compiled once and cached (rows written
    # into the statement itself made it a new statement, compiled anew, for every batch: most of the cost).
    statement = inserts[dialect](table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
    return [row[0] for row in connection.execute(statement, rows)]


class FleetOutput(Output):
    """Forwarding to the fleet's central database as a line output (it reads the committed records, so
    it takes no verdicts; once the last is written it forwards what is left while the database answers)."""

    name = "fleet"
    separable = True

    def __init__(self, context: OutputContext, settings: FleetSettings) -> None:
        central_url(settings)  # a missing password variable: refuse now
        self._context = context
        self._settings = settings
        self._forwarder: FleetForwarder | None = None

    def start(self) -> None:
        self._forwarder = FleetForwarder(
            self._settings,
            self._context.engine,
            self._context.fault_reporter(self.name),
            self._context.link_reporter(self.name),
        )
        self._forwarder.start()

    def records_written(self) -> None:
        if self._forwarder is not None:
            self._forwarder.close()

    def close(self) -> None:
        """Already closed when the last record was written."""

    def status(self) -> dict[str, int]:
        return {} if self._forwarder is None else dict(self._forwarder.counters)

    def backlog(self) -> int:
        """Records not yet in the central database (a query: not part of the live status)."""
        return 0 if self._forwarder is None else self._forwarder.backlog()


def fleet_output(context: OutputContext) -> Output | None:
    settings = context.config.fleet
    return None if settings is None else FleetOutput(context, settings)
