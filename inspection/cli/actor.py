"""Who ran a command that changes something, for the audit trail: the OS user and the command line, beside
the name given (``--by``), so a change made at the terminal is recorded like one made in the app."""

from __future__ import annotations

import getpass
import shlex
import sys


def actor() -> dict[str, str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (e.g. a container)
        user = "?"
    return {"os_user": user, "command": shlex.join(["inspection", *sys.argv[1:]])}
