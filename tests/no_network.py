"""Run the ``inspection`` CLI with every Python-level network call blocked and reported.

Usage: python tests/no_network.py ARGS...  (exit status: the CLI's; 97 if a network call was attempted)
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

BLOCKED = {
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.sendto",
    "socket.bind",
    "urllib.Request",
    "http.client.connect",
}
attempts: list[str] = []


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _local(event: str, args: tuple[Any, ...]) -> bool:
    """Unix sockets, and binding to loopback (urllib3 probes IPv6 support that way on import)."""
    if event in {"socket.connect", "socket.sendto", "socket.bind"} and args:
        sock = args[0]
        if getattr(sock, "family", None) == socket.AF_UNIX:
            return True
        address = args[1] if len(args) > 1 else None
        return event == "socket.bind" and isinstance(address, tuple) and address[0] in LOOPBACK
    return False


def hook(event: str, args: tuple[Any, ...]) -> None:
    if event in BLOCKED and not _local(event, args):
        attempts.append(f"{event} {args[1:] if event.startswith('socket.') else args}")
        # Also now, on stderr: a forked child (multiprocessing) never reaches the report at exit.
        print(f"NETWORK ATTEMPT (pid {os.getpid()}): {attempts[-1]}", file=sys.stderr, flush=True)
        raise PermissionError(f"network blocked by test: {event}")


sys.addaudithook(hook)

from inspection.cli.main import main  # noqa: E402

try:
    code = main(sys.argv[1:])
finally:
    for attempt in attempts:
        print(f"NETWORK ATTEMPT: {attempt}", file=sys.stderr)
sys.exit(97 if attempts else code)
