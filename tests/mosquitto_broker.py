"""Debian's mosquitto on loopback for the tests, started and stopped by them (.ci/run installs it)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from loopback import free_port, missing_server, wait_for_port

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


def require_mosquitto() -> str:
    """The broker binary (a missing one fails the test on CI, skips it elsewhere)."""
    if MOSQUITTO is None:
        missing_server("mosquitto")
    assert MOSQUITTO is not None
    return MOSQUITTO


class Broker:
    """One broker with persistence (queued QoS 1 messages survive its restart) on a free port."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None, anonymous: bool = False) -> None:
        self.binary = require_mosquitto()
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {folder}/",
            "autosave_interval 1",
            f"log_dest file {folder / 'mosquitto.log'}",
        ]
        if os.geteuid() == 0:  # as root mosquitto would switch to its own user, who cannot read the test's folder
            lines.append("user root")
        if users:
            passwords = folder / "passwords"
            passwords.write_text("")
            for user, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password], check=True)
            lines += [f"allow_anonymous {'true' if anonymous else 'false'}", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)])
        wait_for_port(self.port, "mosquitto", timeout_s=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # saves its persistence file
            self.process.wait(10)
            self.process = None
