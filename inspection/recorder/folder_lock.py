"""One station per data folder: an OS lock on ``station.lock`` held for the station's lifetime.

The start-up reconciliation removes half-written images and moves images without a record aside: run
beside a live station it would take that station's in-flight files. So a station (CLI or GUI) takes this
lock before it touches the folder and keeps it until it is closed; a second one is refused with the
holder's pid, host and start time. The lock is ``flock`` on its own file (never the database's file:
SQLite's POSIX locks are left alone), so the kernel releases it when the holder dies, however it dies.
Read-only tools (stats, export-log, report) never take it."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from inspection.core.errors import StorageError

LOCK_NAME = "station.lock"


class DataFolderLock:
    def __init__(self, data_dir: Path, station: str) -> None:
        self.path = data_dir / LOCK_NAME
        self.station = station
        self._descriptor: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise ``StorageError`` naming the station that holds it."""
        if self._descriptor is not None:
            return
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"{self.path}: cannot create the data folder's lock ({exc.strerror})") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(descriptor)
            os.close(descriptor)
            raise StorageError(
                f"{self.path.parent}: data folder in use by {holder}; stop that station first, or give this one "
                "its own storage.data_dir"
            ) from None
        self._descriptor = descriptor
        holder_text = json.dumps(
            {
                "station": self.station,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, holder_text.encode() + b"\n", 0)

    def release(self) -> None:
        """Give the lock up (the file stays: removing it would let two stations lock two files)."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)


def _read_holder(descriptor: int) -> str:
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return "another station (it is starting)"
    return (
        f"station {holder.get('station', '?')!r} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
        f"started {holder.get('started', '?')})"
    )
