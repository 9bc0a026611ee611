"""Debian's PostgreSQL on loopback for the tests: a fresh cluster in a temporary folder, password login
over TCP, started and stopped by the tests (scripts/test.sh installs the package)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from loopback import free_port, missing_server, wait_for_port

USER, PASSWORD, DATABASE = "fleet", "fleet-Secret-42", "fleet"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def require_postgres() -> Path:
    """PostgreSQL's programs (missing ones fail the test on CI, skip it elsewhere)."""
    found = _bin_dir()
    if found is None:
        missing_server("PostgreSQL")
    assert found is not None
    return found


class Postgres:
    def __init__(self) -> None:
        self.bin = require_postgres()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="inspection-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as Debian's postgres user
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        secret = self.root / "pw"
        secret.write_text(PASSWORD + "\n")
        if self.as_user:
            os.chown(secret, pwd.getpwnam("postgres").pw_uid, -1)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={secret}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
        )  # fmt: skip
        secret.unlink()
        self.start()
        self._run(str(self.bin / "createdb"), "-h", str(self.root), "-p", str(self.port), "-U", USER, DATABASE)

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        """The URL a station gets: no password (that comes from an environment variable)."""
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"
        )
        wait_for_port(self.port, "PostgreSQL", timeout_s=20)

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
