"""Read recorded inspections: filtered counts, pages newest first (keyset paging, so page 1,000 is as
fast as page 1), and one record with its detections. Used by the GUI's history; no Qt here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, and_, case, func, or_, select

from inspection.recorder.archive import stored_image
from inspection.recorder.schema import DetectionRow, InspectionRow

_Query = TypeVar("_Query", bound=Select)  # type: ignore[type-arg]  # any selected columns


def as_utc(moment: datetime) -> datetime:
    """A moment in UTC, as the records store it: SQLite keeps a time's wall clock and drops its zone, so a
    bound given in another zone would be compared as if it were UTC. A naive moment is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class RecordFilter:
    since: datetime | None = None
    until: datetime | None = None
    verdict: str | None = None  # pass | fail
    label: str | None = None  # a defect class among the counted detections
    part_serial: str | None = None  # substring
    recipe: str | None = None
    model: str | None = None  # model name (folder/file) or sha256 prefix
    station: str | None = None

    def apply(self, query: _Query) -> _Query:
        conditions = []
        if self.since is not None:
            conditions.append(InspectionRow.created_at >= as_utc(self.since))
        if self.until is not None:
            conditions.append(InspectionRow.created_at < as_utc(self.until))
        if self.verdict:
            conditions.append(InspectionRow.verdict == self.verdict)
        if self.part_serial:
            conditions.append(InspectionRow.part_serial.contains(self.part_serial, autoescape=True))
        if self.recipe:
            conditions.append(InspectionRow.recipe_name == self.recipe)
        if self.station:
            conditions.append(InspectionRow.station == self.station)
        if self.model:
            conditions.append(
                or_(InspectionRow.model_name == self.model, InspectionRow.model_sha256.startswith(self.model))
            )
        if self.label:
            # IN (one pass over the label's index) rather than a correlated EXISTS: SQLite probed that per
            # record through the label index, and a class filter over 100,000 records took minutes.
            with_label = select(DetectionRow.inspection_id).where(
                DetectionRow.label == self.label, DetectionRow.counted.is_(True)
            )
            conditions.append(InspectionRow.id.in_(with_label))
        return query.where(and_(*conditions)) if conditions else query


@dataclass(frozen=True)
class RecordSummary:
    """One row of the history table."""

    id: str
    created_at: datetime
    verdict: str
    reasons: list[str]
    part_serial: str | None
    recipe: str
    model: str
    cycle_ms: float
    station: str = ""


@dataclass
class RecordDetail:
    fields: dict[str, Any]
    detections: list[dict[str, Any]] = field(default_factory=list)
    image: Path | None = None


def verdict_counts(engine: Engine, where: RecordFilter) -> tuple[int, int]:
    """(parts, failed) of the records ``where`` selects, in one query."""
    failed = func.coalesce(func.sum(case((InspectionRow.verdict == "fail", 1), else_=0)), 0)
    with engine.connect() as connection:
        parts, fails = connection.execute(where.apply(select(func.count(), failed).select_from(InspectionRow))).one()
    return int(parts), int(fails)


def count(engine: Engine, where: RecordFilter) -> int:
    with engine.connect() as connection:
        return int(connection.execute(where.apply(select(func.count()).select_from(InspectionRow))).scalar_one())


def page(
    engine: Engine, where: RecordFilter, limit: int = 200, after: tuple[datetime, str] | None = None
) -> list[RecordSummary]:
    """The next ``limit`` records newest first, after the (created_at, id) of the last one shown."""
    query = where.apply(
        select(
            InspectionRow.id,
            InspectionRow.created_at,
            InspectionRow.verdict,
            InspectionRow.reasons,
            InspectionRow.part_serial,
            InspectionRow.recipe_name,
            InspectionRow.model_name,
            InspectionRow.cycle_ms,
            InspectionRow.station,
        )
    )
    if after is not None:
        created, record_id = after
        query = query.where(
            or_(
                InspectionRow.created_at < created,
                and_(InspectionRow.created_at == created, InspectionRow.id < record_id),
            )
        )
    query = query.order_by(InspectionRow.created_at.desc(), InspectionRow.id.desc()).limit(limit)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        RecordSummary(r.id, r.created_at, r.verdict, json.loads(r.reasons), r.part_serial, r.recipe_name,
                      r.model_name, r.cycle_ms, r.station)
        for r in rows
    ]  # fmt: skip


def detail(engine: Engine, record_id: str, data_dir: Path) -> RecordDetail | None:
    """Every recorded field of one inspection, its detections, and its image file."""
    with engine.connect() as connection:
        row = connection.execute(select(InspectionRow).where(InspectionRow.id == record_id)).mappings().first()
        if row is None:
            return None
        detections = connection.execute(
            select(DetectionRow).where(DetectionRow.inspection_id == record_id).order_by(DetectionRow.confidence.desc())
        ).mappings()
        found = [{k: v for k, v in d.items() if k not in ("id", "inspection_id")} for d in detections]
    fields = dict(row)
    fields["reasons"] = json.loads(fields["reasons"])
    image = stored_image(data_dir, fields.get("image_path"))
    return RecordDetail(fields, found, image if image is not None and image.is_file() else None)


def stations(engine: Engine) -> list[str]:
    """The stations that wrote the records (one, or a fleet's in its central database)."""
    with engine.connect() as connection:
        return [
            r[0] for r in connection.execute(select(InspectionRow.station).distinct().order_by(InspectionRow.station))
        ]


def labels(engine: Engine) -> list[str]:
    """The defect classes that appear in the records (for filter choices)."""
    with engine.connect() as connection:
        return [r[0] for r in connection.execute(select(DetectionRow.label).distinct().order_by(DetectionRow.label))]
