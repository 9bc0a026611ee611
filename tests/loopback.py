"""Loopback servers for the tests (and the line benchmark): free ports, waiting for a server to listen,
and what to do when a Debian server package is missing."""

from __future__ import annotations

import os
import socket
import time

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, what: str, timeout_s: float = 20.0) -> None:
    """Until something listens on 127.0.0.1:port; RuntimeError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start on port {port}")


def missing_server(package: str) -> None:
    """A server the tests need is not installed: on CI that fails the test (it guards a promise),
    elsewhere it skips."""
    message = f"{package} is not installed; scripts/test.sh installs Debian's package"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
