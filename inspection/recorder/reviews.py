"""Reviews: a person's judgement of a recorded verdict (correct, false call, escape) and, optionally,
corrected boxes. Stored beside the station's verdict, which is never changed; the newest review of a
record is the one that counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, insert, select

from inspection.core.errors import StationError
from inspection.recorder.accounts import User, require
from inspection.recorder.audit import record_action
from inspection.recorder.schema import InspectionRow, ReviewRow

Outcome = Literal["correct", "false_call", "escape"]
OUTCOMES: tuple[Outcome, ...] = ("correct", "false_call", "escape")


@dataclass(frozen=True)
class ReviewBox:
    label: str
    x1: float
    y1: float
    x2: float
    y2: float

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "box": [self.x1, self.y1, self.x2, self.y2]}


@dataclass(frozen=True)
class Review:
    inspection_id: str
    reviewer: str
    outcome: Outcome
    boxes: tuple[ReviewBox, ...] | None  # None: the reviewer did not touch the boxes
    note: str
    created_at: datetime


def add_review(
    engine: Engine,
    user: User | None,
    inspection_id: str,
    outcome: Outcome,
    boxes: list[ReviewBox] | None = None,
    note: str = "",
) -> Review:
    reviewer = require(user, "review")
    if outcome not in OUTCOMES:
        raise StationError(f"unknown review outcome {outcome!r}; choose one of {list(OUTCOMES)}")
    for box in boxes or []:
        if not (box.x2 > box.x1 and box.y2 > box.y1):
            raise StationError(f"box {box.as_dict()} has no area")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        if connection.execute(select(InspectionRow.id).where(InspectionRow.id == inspection_id)).first() is None:
            raise StationError(f"no recorded inspection {inspection_id}")
        connection.execute(
            insert(ReviewRow).values(
                inspection_id=inspection_id,
                created_at=now,
                reviewer=reviewer.username,
                outcome=outcome,
                boxes=None if boxes is None else json.dumps([b.as_dict() for b in boxes]),
                note=note,
            )
        )
    detail = {"inspection": inspection_id, "outcome": outcome, "boxes": None if boxes is None else len(boxes)}
    record_action(engine, reviewer.username, "review", detail)
    return Review(inspection_id, reviewer.username, outcome, tuple(boxes) if boxes is not None else None, note, now)


def latest_reviews(engine: Engine, inspection_ids: list[str] | None = None) -> dict[str, Review]:
    """The newest review of each record (of those given, or of all)."""
    query = select(ReviewRow).order_by(ReviewRow.id)
    if inspection_ids is not None:
        query = query.where(ReviewRow.inspection_id.in_(inspection_ids))
    with engine.connect() as connection:
        return {row.inspection_id: _review(row) for row in connection.execute(query)}


def reviews_of(engine: Engine, inspection_id: str) -> list[Review]:
    """Every review of one record, oldest first (the last one stands)."""
    query = select(ReviewRow).where(ReviewRow.inspection_id == inspection_id).order_by(ReviewRow.id)
    with engine.connect() as connection:
        return [_review(row) for row in connection.execute(query)]


def _review(row: Any) -> Review:
    boxes = None
    if row.boxes is not None:
        boxes = tuple(ReviewBox(b["label"], *b["box"]) for b in json.loads(row.boxes))
    return Review(row.inspection_id, row.reviewer, _outcome(row.outcome), boxes, row.note, row.created_at)


def _outcome(value: str) -> Outcome:
    for outcome in OUTCOMES:
        if value == outcome:
            return outcome
    raise StationError(f"unknown review outcome {value!r} in the database")
