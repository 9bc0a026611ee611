"""Open the database (SQLite file by default, any SQLAlchemy URL) and bring its schema to head."""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError, SQLAlchemyError

from inspection.config import Storage
from inspection.core.errors import StorageError
from inspection.recorder.archive import check_writable

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
QUICK_CHECK_S = 10.0  # longest the start-up check of a SQLite file may take
RESTORE = "restore it from a backup, or move it away to start a new one (nothing was written to it)"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the single writer
    cursor.execute("PRAGMA synchronous=FULL")  # a committed record survives a power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass(frozen=True)
class _Opened:
    engine: Engine
    identity: tuple[int, int] | None  # (device, inode) of the SQLite file when it was opened


_OPENED: dict[str, _Opened] = {}
_OPENING = threading.Lock()


def open_database(url: str, busy_timeout_s: float = 5.0) -> Engine:
    """The process's one engine for ``url``, its schema at head; typical failures as one-line errors.

    A process never holds two engines on one database (the GUI, each station it builds and its commands
    share one): SQLite's POSIX locks belong to the process, and the way to lose them is a second handle on
    the file. A SQLite file is checked (header, ``PRAGMA quick_check``) through SQLite itself, only when
    the process opens it first, and a damaged one is refused before anything is written."""
    with _OPENING:
        opened = _OPENED.get(url)
        identity = _sqlite_identity(url)
        if opened is not None and opened.identity == identity:
            return opened.engine
        if opened is not None:  # the file was replaced or removed since: start afresh
            opened.engine.dispose()
            del _OPENED[url]
        engine = _create(url, busy_timeout_s)
        _OPENED[url] = _Opened(engine, _sqlite_identity(url))
        return engine


def _create(url: str, busy_timeout_s: float) -> Engine:
    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        connect_args = {"timeout": busy_timeout_s, "check_same_thread": False}
        check_sqlite_file(url, busy_timeout_s=busy_timeout_s)
    try:
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not url.startswith("sqlite"))
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(f"database URL {url!r} cannot be used: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        _upgrade_when_free(engine, busy_timeout_s)
    except (OperationalError, DatabaseError) as exc:
        engine.dispose()
        raise StorageError(_explain(url, exc)) from None
    return engine


def _upgrade_when_free(engine: Engine, busy_timeout_s: float) -> None:
    """``upgrade``, tried again while SQLite answers "locked" without waiting (processes opening one new
    file at once: one of them turns it to WAL or makes the schema; measured: about one start in ten of
    four at once failed), until the busy timeout."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            upgrade(engine)
            return
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or time.monotonic() >= deadline:
                raise
            engine.dispose()  # no connection of this try stays open
            time.sleep(random.uniform(0.02, 0.1))


def upgrade(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if _at_head(engine, config):
        return  # nothing to write: a reader of a read-only file opens it as well
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Stations of a fleet start together: one migrates, the others wait and find the schema at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(720451)"))
        elif engine.dialect.name == "sqlite":
            # The same for processes opening one new file at once (a station and the app, a command): the
            # write lock before the schema version is read again, so the second waits and finds it at head.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _at_head(engine: Engine, config: Config) -> bool:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current is not None and current == ScriptDirectory.from_config(config).get_current_head()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return None if not path or path.startswith(":memory:") else Path(path.split("?", 1)[0])


def require_existing(url: str) -> None:
    """For commands that only read records: a SQLite file that is not there is a mistyped path, not a
    database to create (an empty one would report 0 parts as if that were true)."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise StorageError(
            f"{path}: no such database file; check --database or --config (a station creates its database "
            "at its first run; this command only reads records)"
        )


def _sqlite_identity(url: str) -> tuple[int, int] | None:
    path = sqlite_path(url)
    try:
        stat = path.stat() if path is not None else None
    except OSError:
        return None
    return None if stat is None else (stat.st_dev, stat.st_ino)


def check_sqlite_file(url: str, quick_check_s: float = QUICK_CHECK_S, busy_timeout_s: float = 5.0) -> None:
    """Refuse a file that is not a sound SQLite database, reading it only through SQLite (never with
    plain file I/O: closing such a handle would drop the locks this process's connections hold)."""
    file = sqlite_path(url)
    if file is None:
        return
    if not file.parent.is_dir():
        raise StorageError(f"{file.parent}: folder for the database does not exist")
    if not file.exists() or file.stat().st_size == 0:
        return  # created by the migrations
    try:
        connection = sqlite3.connect(f"file:{file}?mode=ro", uri=True, timeout=busy_timeout_s)
    except sqlite3.Error as exc:
        raise StorageError(f"{file}: cannot open the database ({exc}); check the file's permissions") from None
    try:
        connection.execute("PRAGMA schema_version").fetchone()
        problems = _quick_check(connection, quick_check_s)
    except sqlite3.DatabaseError as exc:
        if "locked" in str(exc):
            return  # a writer holds it right now: the engine's busy timeout deals with that
        if "malformed" in str(exc):  # a SQLite file whose pages are damaged (the check could not go on)
            raise StorageError(f"{file}: the database is damaged ({exc}); {RESTORE}") from None
        raise StorageError(f"{file}: is not a valid SQLite database ({exc}); {RESTORE}") from None
    finally:
        connection.close()
    if problems:
        raise StorageError(f"{file}: the database is damaged ({problems[0]}); {RESTORE}")


def _quick_check(connection: sqlite3.Connection, limit_s: float) -> list[str]:
    """``PRAGMA quick_check``'s problems (none: sound); a check that runs past ``limit_s`` is given up
    (logged), so a very large database does not hold up the start."""
    deadline = time.monotonic() + limit_s
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        rows = connection.execute("PRAGMA quick_check").fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        log.warning("database check given up after %.0f s (the file is large); the start goes on", limit_s)
        return []
    finally:
        connection.set_progress_handler(None, 0)
    messages = [str(row[0]) for row in rows]
    return [] if messages == ["ok"] else messages


def error_reason(exc: BaseException) -> str:
    """The first line of what the database driver said (SQLAlchemy wraps it in a long message with the SQL)."""
    text = str(getattr(exc, "orig", exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _explain(url: str, exc: Exception) -> str:
    original = getattr(exc, "orig", exc)
    text = str(original)
    where = url.split("///", 1)[-1]
    if isinstance(original, sqlite3.OperationalError) and "locked" in text:
        return f"{where}: the database is locked by another program; stop the other station or tool using it"
    if "not a database" in text or "malformed" in text:
        return f"{where}: is not a valid SQLite database ({text}); {RESTORE}"
    if "readonly" in text or "unable to open" in text:
        return f"{where}: cannot write the database; check the folder's permissions"
    return f"{where}: database error: {text.splitlines()[0] if text else type(original).__name__}"


def open_station_database(storage: Storage) -> Engine:
    """A station's database, its data folder created first (a fresh install has none yet)."""
    check_writable(storage.data_dir)
    return open_database(storage.resolved_database_url())
