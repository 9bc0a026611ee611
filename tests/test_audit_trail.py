"""The audit trail is tamper-evident: entries chained by a keyed hash (the key beside the database, not in
it); an entry changed or deleted with sqlite3 is found by ``inspection audit verify``; two processes
writing at once still make one chain."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, run_cli

from inspection.recorder.accounts import create_user, login
from inspection.recorder.audit import KEY_FILE, record_action, verify
from inspection.recorder.database import open_database

WRITER = """
import sys
from inspection.recorder.audit import record_action
from inspection.recorder.database import open_database
engine = open_database(sys.argv[1])
for number in range(40):
    record_action(engine, sys.argv[2], "start", {"n": number})
"""


def trail(tmp_path: Path, name: str = "station.db") -> str:
    url = f"sqlite:///{tmp_path / name}"
    engine = open_database(url)
    admin = create_user(engine, "ada", "admin-pass-1", "admin", None)
    create_user(engine, "olga", "operator-pass", "operator", admin)
    login(engine, "olga", "operator-pass")
    record_action(engine, "olga", "start", {"station": "s1"})
    record_action(engine, "olga", "stop", {"station": "s1"})
    engine.dispose()
    return url


def audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    return run_cli("audit", "--database", url, "verify")


def test_an_untouched_trail_verifies_and_its_key_is_private(tmp_path: Path) -> None:
    url = trail(tmp_path)
    result = audit_verify(url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "audit trail intact: 5 entries"
    key = tmp_path / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) == 64


def test_a_changed_entry_is_found(tmp_path: Path) -> None:
    url = trail(tmp_path)
    with sqlite3.connect(tmp_path / "station.db") as db:
        db.execute("UPDATE audit_log SET username = 'eve' WHERE id = 3")
    result = audit_verify(url)
    assert result.returncode == 1
    assert result.stdout.startswith("audit trail BROKEN at entry 3: it was changed")


def test_a_deleted_entry_is_found(tmp_path: Path) -> None:
    url = trail(tmp_path)
    with sqlite3.connect(tmp_path / "station.db") as db:
        db.execute("DELETE FROM audit_log WHERE id = 2")  # e.g. the second account's creation
    result = audit_verify(url)
    assert result.returncode == 1
    assert "BROKEN at entry 3: it was changed, or an entry before it was deleted" in result.stdout


def test_two_processes_writing_at_once_make_one_chain(tmp_path: Path) -> None:
    url = trail(tmp_path)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, url, name], cwd=ROOT) for name in ("gui", "cli")]
    assert [writer.wait(120) for writer in writers] == [0, 0]
    report = verify(open_database(url))
    assert report.intact and report.entries == 5 + 80, report
