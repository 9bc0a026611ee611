"""User accounts and roles, for the desktop app: salted, slow password hashes (scrypt), no default
password. The first account is an admin created on purpose (``create_user`` when none exists)."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import Engine, func, insert, select, update

from inspection.core.errors import StationError
from inspection.recorder.audit import audit_key, key_folder, record_action
from inspection.recorder.schema import AuditRow, UserRow

Role = Literal["operator", "engineer", "admin"]
ROLES: tuple[Role, ...] = ("operator", "engineer", "admin")
MIN_PASSWORD = 8
# scrypt cost: n=2**15, r=8 takes about 0.1 s and 32 MiB per check: slow for a guesser, fine for a login.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
# After this many failed logins in a row an account is locked for LOCKOUT_S, doubled with each further
# failure up to LOCKOUT_MAX_S; the right password does not open it meanwhile. Counted from the audit trail.
MAX_FAILED_LOGINS = 5
LOCKOUT_S = 30.0
LOCKOUT_MAX_S = 900.0


class AccessError(StationError):
    """Wrong password, unknown user, or an action the role does not allow."""


@dataclass(frozen=True)
class User:
    username: str
    role: Role

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


PERMISSIONS: dict[Role, frozenset[str]] = {
    "operator": frozenset({"run", "review"}),
    "engineer": frozenset({"run", "review", "recipe", "thresholds", "model", "station", "audit"}),
    "admin": frozenset({"run", "review", "recipe", "thresholds", "model", "station", "audit", "users"}),
}


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 << 20)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), maxmem=64 << 20
    )
    return hmac.compare_digest(candidate.hex(), digest)


def has_users(engine: Engine) -> bool:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(UserRow)).scalar_one()) > 0


def accounts_were_removed(engine: Engine) -> bool:
    """The database has no account, but it had some: the marker beside its audit key says so."""
    marker = _sealed_marker(engine)
    return marker is not None and marker.exists() and not has_users(engine)


def create_user(engine: Engine, username: str, password: str, role: Role, by: User | None) -> User:
    """Add an account. Only an admin may, except for the very first account, which must be an admin."""
    username = username.strip()
    first = not has_users(engine)
    if first and accounts_were_removed(engine):
        raise AccessError(
            "this station had accounts, and they were removed outside the station: restore its database from "
            "a backup (a first admin is made only for a database that never had one)"
        )
    if first and role != "admin":
        raise AccessError("the first account must be an admin")
    if not first and (by is None or not by.may("users")):
        raise AccessError("only an admin may add accounts")
    if role not in ROLES:
        raise AccessError(f"unknown role {role!r}; choose one of {list(ROLES)}")
    if not username or len(username) > 64:
        raise AccessError("a user name is 1 to 64 characters")
    if len(password) < MIN_PASSWORD:
        raise AccessError(f"a password has at least {MIN_PASSWORD} characters")
    hashed = hash_password(password)
    key = audit_key(engine)
    with engine.begin() as connection:
        exists = connection.execute(select(UserRow.id).where(UserRow.username == username)).first()
        if exists is not None:
            raise AccessError(f"user {username!r} exists already")
        connection.execute(
            insert(UserRow).values(
                username=username,
                role=role,
                password_hash=hashed,
                active=True,
                created_at=datetime.now(UTC),
                seal=None if key is None else seal_of(key, username, role, hashed, True),
            )
        )
    if key is not None:
        _mark_sealed(engine)
    record_action(engine, by.username if by else username, "user_add", {"user": username, "role": role})
    return User(username, role)


def login(engine: Engine, username: str, password: str, now: datetime | None = None) -> User:
    username = username.strip()
    remaining, failures = locked_for(engine, username, now or datetime.now(UTC))
    if remaining > 0:
        record_action(engine, username or "?", "login_locked", {"failed": failures, "retry_in_s": math.ceil(remaining)})
        raise AccessError(
            f"user {username!r} is locked for {math.ceil(remaining)} s after {failures} failed logins; try again then"
        )
    with engine.connect() as connection:
        row = connection.execute(
            select(UserRow.role, UserRow.password_hash, UserRow.active, UserRow.seal).where(
                UserRow.username == username
            )
        ).first()
    if row is None or not row.active or not check_password(password, row.password_hash):
        record_action(engine, username or "?", "login_failed", {})
        raise AccessError("wrong user name or password")
    if not _seal_holds(engine, username, row.role, row.password_hash, row.active, row.seal):
        record_action(engine, username, "login_refused", {"reason": "account changed outside the station"})
        raise AccessError(
            f"user {username!r}: the account was changed outside the station (its seal does not match); "
            "an admin must add it again"
        )
    user = User(username, row.role)
    record_action(engine, user.username, "login", {"role": user.role})
    return user


def seal_of(key: bytes, username: str, role: str, password_hash: str, active: bool) -> str:
    fields = json.dumps([username, role, password_hash, bool(active)], separators=(",", ":"))
    return hmac.new(key, fields.encode(), hashlib.sha256).hexdigest()


def _seal_holds(engine: Engine, username: str, role: str, password_hash: str, active: bool, seal: str | None) -> bool:
    """Whether the account is as the station wrote it. Accounts made before seals existed are sealed at the
    first login after the upgrade (once: a marker beside the key says so); after that an unsealed one is
    refused."""
    key = audit_key(engine)
    if key is None:
        return True  # no place for a key (a database without a file of its own)
    if seal is not None:
        return hmac.compare_digest(seal, seal_of(key, username, role, password_hash, active))
    marker = _sealed_marker(engine)
    if marker is None or marker.exists():
        return False
    _seal_all(engine, key)
    return True


def _sealed_marker(engine: Engine) -> Path | None:
    """``users.sealed`` beside the audit key: from then on every account must carry a seal."""
    folder = key_folder(engine)
    return None if folder is None else folder / "users.sealed"


def _seal_all(engine: Engine, key: bytes) -> None:
    columns = (UserRow.id, UserRow.username, UserRow.role, UserRow.password_hash, UserRow.active)
    with engine.begin() as connection:
        rows = connection.execute(select(*columns)).all()
        for row in rows:
            seal = seal_of(key, row.username, row.role, row.password_hash, row.active)
            connection.execute(update(UserRow).where(UserRow.id == row.id).values(seal=seal))
    _mark_sealed(engine)
    record_action(engine, "station", "users_sealed", {"accounts": len(rows)})


def _mark_sealed(engine: Engine) -> None:
    marker = _sealed_marker(engine)
    if marker is not None and not marker.exists():
        marker.write_text("every account of this station's database carries a seal (see audit.key)\n")


def locked_for(engine: Engine, username: str, now: datetime) -> tuple[float, int]:
    """Seconds the account stays locked (0: not locked), and its failed logins since the last good one."""
    query = (
        select(AuditRow.action, AuditRow.created_at)
        .where(AuditRow.username == username, AuditRow.action.in_(("login", "login_failed")))
        .order_by(AuditRow.id.desc())
        .limit(MAX_FAILED_LOGINS + 16)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    failures = next((i for i, row in enumerate(rows) if row.action == "login"), len(rows))
    if failures < MAX_FAILED_LOGINS:
        return 0.0, failures
    last = rows[0].created_at
    last = last.replace(tzinfo=UTC) if last.tzinfo is None else last  # SQLite gives the UTC wall clock back
    wait = min(LOCKOUT_S * 2 ** (failures - MAX_FAILED_LOGINS), LOCKOUT_MAX_S)
    return max(0.0, (last - now).total_seconds() + wait), failures


def require_audited(engine: Engine, user: User | None, permission: str, detail: dict[str, str]) -> User:
    """``require``, and a refusal goes to the audit trail (as ``denied``, with ``detail``)."""
    try:
        return require(user, permission)
    except AccessError:
        record_action(engine, user.username if user else "?", "denied", {"action": permission, **detail})
        raise


def require(user: User | None, permission: str) -> User:
    """The user, if the role allows ``permission``; else AccessError."""
    if user is None:
        raise AccessError("log in first")
    if not user.may(permission):
        raise AccessError(f"{user.username} ({user.role}) may not change {permission}")
    return user
