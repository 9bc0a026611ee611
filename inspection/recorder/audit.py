"""The audit trail: who did what and when, in the station's database (append only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from inspection.recorder.schema import AuditRow


@dataclass(frozen=True)
class AuditEntry:
    created_at: datetime
    username: str
    action: str
    detail: dict[str, Any]


def record_action(engine: Engine, username: str, action: str, detail: dict[str, Any]) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(AuditRow).values(
                created_at=datetime.now(UTC), username=username, action=action, detail=json.dumps(detail)
            )
        )


def entries(engine: Engine, limit: int = 500, action: str | None = None) -> list[AuditEntry]:
    """The newest entries first."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditRow.action == action)
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [AuditEntry(r.created_at, r.username, r.action, json.loads(r.detail)) for r in rows]
