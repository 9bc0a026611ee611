"""Records the database could not take yet: a journal beside it, in inspection order, fsync'ed.

When the database is locked by another writer or briefly unavailable, the record writer appends each
batch here (its images are already on disk) and tries the database again with back-off; the journal is
written into the database, oldest first, at the next successful commit or at the next start, and only then
emptied. Replaying is idempotent (a record already in the database is skipped), so a kill between the
commit and the truncation loses nothing and doubles nothing. A torn last line (a kill while appending) is
ignored: that batch was never acknowledged."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from inspection.core.errors import StorageError
from inspection.recorder.schema import DetectionRow, InspectionRow, InspectionViewRow

log = logging.getLogger(__name__)
JOURNAL_NAME = "pending-records.jsonl"
DEFAULT_MAX_RECORDS = 20_000


@dataclass(frozen=True)
class PendingRows:
    """One record as the database will hold it: its inspection row and its detection rows."""

    inspection: dict[str, Any]
    detections: list[dict[str, Any]]
    views: list[dict[str, Any]] = field(default_factory=list)  # a multi-camera part's views

    def to_json(self) -> str:
        inspection = {**self.inspection, "created_at": self.inspection["created_at"].isoformat()}
        data = {"inspection": inspection, "detections": self.detections, "views": self.views}
        return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def from_json(line: str) -> PendingRows:
        data = json.loads(line)
        inspection = data["inspection"]
        inspection["created_at"] = datetime.fromisoformat(inspection["created_at"])
        detections = [{"view": None, **row} for row in data["detections"]]  # journals from before views
        return PendingRows(inspection, detections, data.get("views", []))


class SpillFullError(StorageError):
    """The journal holds as many records as it may: the station must stop inspecting."""


class SpillJournal:
    def __init__(self, data_dir: Path, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        self.path = data_dir / JOURNAL_NAME
        self.max_records = max_records
        self.count = len(self.read()) if self.path.exists() else 0

    def append(self, records: list[PendingRows]) -> None:
        """Add records durably (written and fsync'ed before this returns)."""
        if self.count + len(records) > self.max_records:
            raise SpillFullError(
                f"the database has not taken a record for a while and {self.count} records wait in "
                f"{self.path}; the station stops inspecting (they are written at the next start)"
            )
        text = "".join(record.to_json() + "\n" for record in records)
        try:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise StorageError(
                f"{self.path}: cannot keep records while the database is away ({exc.strerror})"
            ) from None
        self.count += len(records)

    def read(self) -> list[PendingRows]:
        """The journal's records in order; a torn last line is left out (and logged)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = []
        for number, line in enumerate(lines, 1):
            try:
                records.append(PendingRows.from_json(line))
            except (ValueError, KeyError, TypeError):
                if number == len(lines):
                    log.warning("%s: the last line was cut short by a stop mid-write; it is left out", self.path)
                    break
                raise StorageError(f"{self.path}:{number}: not a pending record; move the file away") from None
        return records

    def clear(self) -> None:
        """Empty the journal (its records are in the database)."""
        self.path.unlink(missing_ok=True)
        _fsync_folder(self.path.parent)
        self.count = 0


def insert_pending(connection: Connection, records: list[PendingRows]) -> int:
    """Insert ``records`` in order inside the caller's transaction, skipping any already there."""
    ids = [record.inspection["id"] for record in records]
    present: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        present.update(connection.execute(select(InspectionRow.id).where(InspectionRow.id.in_(chunk))).scalars())
    new = [record for record in records if record.inspection["id"] not in present]
    if new:
        connection.execute(insert(InspectionRow), [record.inspection for record in new])
        insert_children(connection, new)
    return len(new)


def insert_children(connection: Connection, records: list[PendingRows]) -> None:
    """The records' detection and view rows (their inspection rows are in already)."""
    detections = [row for record in records for row in record.detections]
    if detections:
        connection.execute(insert(DetectionRow), detections)
    views = [row for record in records for row in record.views]
    if views:
        connection.execute(insert(InspectionViewRow), views)


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
