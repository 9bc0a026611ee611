"""Open the database (SQLite file by default, any SQLAlchemy URL) and bring its schema to head."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DatabaseError, OperationalError, SQLAlchemyError

from inspection.config import Storage
from inspection.errors import StorageError
from inspection.recorder.archive import check_writable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the single writer
    cursor.execute("PRAGMA synchronous=FULL")  # a committed record survives a power cut
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_database(url: str, busy_timeout_s: float = 5.0) -> Engine:
    """Create the engine, apply migrations, and translate typical failures into one-line errors."""
    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        connect_args = {"timeout": busy_timeout_s, "check_same_thread": False}
        _check_sqlite_file(url)
    try:
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not url.startswith("sqlite"))
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(f"database URL {url!r} cannot be used: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        upgrade(engine)
    except OperationalError as exc:
        raise StorageError(_explain(url, exc)) from None
    except DatabaseError as exc:
        raise StorageError(_explain(url, exc)) from None
    return engine


def upgrade(engine: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Stations of a fleet start together: one migrates, the others wait and find the schema at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(720451)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _check_sqlite_file(url: str) -> None:
    path = url.split("///", 1)[1] if "///" in url else ""
    if not path or path == ":memory:":
        return
    file = Path(path)
    if not file.parent.is_dir():
        raise StorageError(f"{file.parent}: folder for the database does not exist")
    if file.exists() and file.stat().st_size > 0:
        try:
            with file.open("rb") as handle:
                header = handle.read(16)
        except OSError as exc:
            raise StorageError(f"{file}: cannot read the database file ({exc.strerror})") from None
        if header != b"SQLite format 3\x00":
            raise StorageError(f"{file}: is not an SQLite database; move it away or choose another database_url")


def _explain(url: str, exc: Exception) -> str:
    original = getattr(exc, "orig", exc)
    text = str(original)
    where = url.split("///", 1)[-1]
    if isinstance(original, sqlite3.OperationalError) and "locked" in text:
        return f"{where}: the database is locked by another program; stop the other station or tool using it"
    if "not a database" in text or "malformed" in text:
        return f"{where}: is not a valid SQLite database; move it away or choose another database_url"
    if "readonly" in text or "unable to open" in text:
        return f"{where}: cannot write the database; check the folder's permissions"
    return f"{where}: database error: {text.splitlines()[0] if text else type(original).__name__}"


def open_station_database(storage: Storage) -> Engine:
    """A station's database, its data folder created first (a fresh install has none yet)."""
    check_writable(storage.data_dir)
    return open_database(storage.resolved_database_url())
