"""The audit trail: who did what and when, in the station's database, append only and tamper-evident.

Each entry carries ``chain = HMAC-SHA256(key, previous chain | id | time | user | action | detail)``. The
key lives outside the database, in ``audit.key`` beside the SQLite file (created at the first entry,
readable by the station's OS user only), so an entry changed or deleted with a database tool breaks the
chain from there on, and ``verify`` names the first entry that does not fit. (A root user holding the
key, or a cut of the newest entries, is beyond what a chain can show: see SECURITY.md.)"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from inspection.recorder.schema import AuditRow

KEY_FILE = "audit.key"


@dataclass(frozen=True)
class AuditEntry:
    created_at: datetime
    username: str
    action: str
    detail: dict[str, Any]
    id: int = 0  # the entry's number (what ``verify`` names)


@dataclass(frozen=True)
class ChainReport:
    entries: int
    unchained: int  # entries written before the chain began (the oldest ones)
    broken_at: int | None  # the id of the first entry that does not fit the chain
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def record_action(engine: Engine, username: str, action: str, detail: dict[str, Any]) -> None:
    """Append an entry, chained to the one before it (in one transaction: the insert takes the database's
    write lock first, so two writers never chain to the same entry)."""
    moment = datetime.now(UTC)
    text = json.dumps(detail)
    key = audit_key(engine)
    with engine.begin() as connection:
        inserted = connection.execute(
            insert(AuditRow).values(created_at=moment, username=username, action=action, detail=text)
        ).inserted_primary_key
        assert inserted is not None
        entry_id = int(inserted[0])
        if key is not None:
            previous = _previous_chain(connection, entry_id)
            chain = _link(key, previous, entry_id, moment, username, action, text)
            connection.execute(update(AuditRow).where(AuditRow.id == entry_id).values(chain=chain))


def entries(engine: Engine, limit: int = 500, action: str | None = None) -> list[AuditEntry]:
    """The newest entries first."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditRow.action == action)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [AuditEntry(r.created_at, r.username, r.action, json.loads(r.detail), r.id) for r in rows]


def verify(engine: Engine) -> ChainReport:
    """Walk the trail oldest first and check every link."""
    key = audit_key(engine, create=False)
    with engine.connect() as connection:
        rows = connection.execute(select(AuditRow).order_by(AuditRow.id)).all()
    unchained = 0
    previous = ""
    for count, row in enumerate(rows):
        if row.chain is None:
            if previous:  # a gap after the chain began: an entry was rewritten without it
                return ChainReport(len(rows), unchained, row.id, "its chain value is missing")
            unchained += 1
            continue
        if key is None:
            return ChainReport(len(rows), unchained, row.id, f"the audit key ({KEY_FILE}) is missing")
        expected = _link(key, previous, row.id, row.created_at, row.username, row.action, row.detail)
        if not hmac.compare_digest(expected, row.chain):
            problem = "it was changed, or an entry before it was deleted" if count else "it was changed"
            return ChainReport(len(rows), unchained, row.id, problem)
        previous = row.chain
    return ChainReport(len(rows), unchained, None)


def audit_key(engine: Engine, create: bool = True) -> bytes | None:
    """The station's audit key: ``audit.key`` beside the SQLite file, made (mode 600) when first needed.
    None for a database without a file of its own (the chain needs a place outside the database)."""
    folder = key_folder(engine)
    if folder is None:
        return None
    path = folder / KEY_FILE
    if not path.exists() and create:
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it just now
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(os.urandom(32).hex() + "\n")
                file.flush()
                os.fsync(file.fileno())
    if not path.exists():
        return None
    return path.read_text().strip().encode()


def key_folder(engine: Engine) -> Path | None:
    """Where the station's keys and markers live: beside its SQLite file (None: no file of its own)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return Path(database).resolve().parent


def _previous_chain(connection: Connection, entry_id: int) -> str:
    row = connection.execute(
        select(AuditRow.chain).where(AuditRow.id < entry_id).order_by(AuditRow.id.desc()).limit(1)
    ).first()
    return (row.chain or "") if row is not None else ""


def _link(key: bytes, previous: str, entry_id: int, moment: datetime, username: str, action: str, detail: str) -> str:
    stamp = (moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat(timespec="microseconds")
    fields = json.dumps([previous, entry_id, stamp, username, action, detail], separators=(",", ":"))
    return hmac.new(key, fields.encode(), hashlib.sha256).hexdigest()
