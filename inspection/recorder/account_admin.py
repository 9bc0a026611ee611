"""Managing accounts (admins): the list, disable / enable, role changes and password resets. Each change
is checked against the seal first (an account changed outside the station is not touched), sealed again,
and goes to the audit trail with who did it. Nobody disables or demotes themselves, so the admin making
a change always remains: the station never loses its last admin this way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from inspection.recorder.accounts import (
    MIN_PASSWORD,
    ROLES,
    AccessError,
    Role,
    User,
    hash_password,
    require_audited,
    seal_of,
)
from inspection.recorder.audit import audit_key, record_action
from inspection.recorder.schema import UserRow


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    active: bool
    created_at: datetime


def list_accounts(engine: Engine) -> list[Account]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(UserRow.username, UserRow.role, UserRow.active, UserRow.created_at).order_by(UserRow.username)
        ).all()
    return [Account(row.username, row.role, bool(row.active), row.created_at) for row in rows]


def set_active(engine: Engine, by: User | None, username: str, active: bool) -> None:
    """Disable (no login any more; the records and trail keep the name) or enable an account."""
    admin = require_audited(engine, by, "users", {"user": username, "change": "active"})
    if not active and username == admin.username:
        raise AccessError("you cannot disable your own account; another admin can")
    _change(engine, admin, username, {"active": active}, "user_enable" if active else "user_disable")


def set_role(engine: Engine, by: User | None, username: str, role: Role) -> None:
    admin = require_audited(engine, by, "users", {"user": username, "change": "role"})
    if role not in ROLES:
        raise AccessError(f"unknown role {role!r}; choose one of {list(ROLES)}")
    if username == admin.username and role != "admin":
        raise AccessError("you cannot take the admin role from yourself; another admin can")
    _change(engine, admin, username, {"role": role}, "user_role")


def reset_password(engine: Engine, by: User | None, username: str, password: str, repeated: str) -> None:
    """A new password set by an admin (the user should change it; nobody reads it back)."""
    admin = require_audited(engine, by, "users", {"user": username, "change": "password"})
    check_new_password(password, repeated)
    _change(engine, admin, username, {"password_hash": hash_password(password)}, "user_password_reset")


def check_new_password(password: str, repeated: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccessError(f"a password has at least {MIN_PASSWORD} characters")
    if password != repeated:
        raise AccessError("the two passwords differ; type the same password twice")


def _change(engine: Engine, admin: User, username: str, values: dict[str, Any], action: str) -> None:
    key = audit_key(engine)
    with engine.begin() as connection:
        columns = (UserRow.id, UserRow.username, UserRow.role, UserRow.password_hash, UserRow.active, UserRow.seal)
        row = connection.execute(select(*columns).where(UserRow.username == username)).first()
        if row is None:
            raise AccessError(f"no account {username!r}")
        if key is not None and row.seal is not None and row.seal != seal_of(key, row.username, row.role,
                                                                         row.password_hash, row.active):  # fmt: skip
            raise AccessError(f"account {username!r} was changed outside the station; an admin must add it again")
        after = {"role": row.role, "password_hash": row.password_hash, "active": bool(row.active), **values}
        seal = None if key is None else seal_of(key, username, after["role"], after["password_hash"], after["active"])
        connection.execute(update(UserRow).where(UserRow.id == row.id).values(**values, seal=seal))
    detail = {"user": username, **{k: v for k, v in values.items() if k != "password_hash"}}
    record_action(engine, admin.username, action, detail)
