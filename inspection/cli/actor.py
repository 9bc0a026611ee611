"""Who ran a command that changes something, for the audit trail: the OS user and the command line, beside
the name given (``--by``), so a change made at the terminal is recorded like one made in the app."""

from __future__ import annotations

import getpass
import os
import shlex
import sys

from sqlalchemy import Engine, select

from inspection.core.errors import StationError
from inspection.recorder.accounts import has_users, login
from inspection.recorder.schema import UserRow


def actor() -> dict[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (e.g. a container)
        user = "?"
    return {"os_user": user, "command": shlex.join(["inspection", *sys.argv[1:]])}


def who(engine: Engine, by: str | None, password_env: str | None) -> str:
    """The name a change made at the terminal is recorded under. Where the station has accounts, ``--by``
    names one and its password is asked (a terminal) or read from ``password_env`` (a script), with the
    app's lockout and audit; without ``--by`` the OS user is recorded. Without accounts, ``--by`` as given."""
    os_user = actor()["os_user"]
    if not has_users(engine):
        return by or os_user
    if by is None:
        return f"os:{os_user}"
    with engine.connect() as connection:
        known = connection.execute(select(UserRow.id).where(UserRow.username == by.strip())).first()
    if known is None:
        raise StationError(f"--by {by}: not an account of this station; give yours, or leave --by out (the OS user)")
    login(engine, by, _password(by, password_env))
    return by.strip()


def _password(name: str, password_env: str | None) -> str:
    if password_env is not None:
        value = os.environ.get(password_env)
        if not value:
            raise StationError(f"--password-env {password_env}: the variable is not set")
        return value
    if not sys.stdin.isatty():
        raise StationError(f"{name} is a station account: give its password at a terminal, or --password-env VAR")
    return getpass.getpass(f"password for {name}: ")
