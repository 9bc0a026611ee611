"""The audit trail and the accounts are tamper-evident: entries chained by a keyed hash (the key beside the
database, not in it), accounts sealed with it; an entry changed or deleted with sqlite3 is found by
``inspection audit verify``, a role changed with sqlite3 is refused at login; two processes writing at
once still make one chain."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from inspection.recorder.accounts import AccessError, User, accounts_were_removed, create_user, login
from inspection.recorder.audit import KEY_FILE, entries, record_action, verify
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


def test_a_role_changed_in_the_database_is_refused_at_login(tmp_path: Path) -> None:
    url = trail(tmp_path)
    engine = open_database(url)
    with sqlite3.connect(tmp_path / "station.db") as db:
        db.execute("UPDATE users SET role = 'admin' WHERE username = 'olga'")  # the probe's promotion
    with pytest.raises(AccessError, match="changed outside the station"):
        login(engine, "olga", "operator-pass")
    with sqlite3.connect(tmp_path / "station.db") as db:
        db.execute("UPDATE users SET role = 'operator', seal = NULL WHERE username = 'olga'")  # hide the seal too
    with pytest.raises(AccessError, match="changed outside the station"):
        login(engine, "olga", "operator-pass")
    assert login(engine, "ada", "admin-pass-1") == User("ada", "admin")  # the untouched account still works
    assert ("olga", "login_refused") in [(e.username, e.action) for e in entries(engine)]


def test_accounts_from_before_the_seals_are_sealed_once(tmp_path: Path) -> None:
    url = trail(tmp_path)
    engine = open_database(url)
    with sqlite3.connect(tmp_path / "station.db") as db:
        db.execute("UPDATE users SET seal = NULL")  # as a database written by an older version
    (tmp_path / "users.sealed").unlink()
    assert login(engine, "olga", "operator-pass") == User("olga", "operator")  # sealed now, once
    assert (tmp_path / "users.sealed").is_file()
    with sqlite3.connect(tmp_path / "station.db") as db:
        assert db.execute("SELECT count(*) FROM users WHERE seal IS NULL").fetchone() == (0,)
        db.execute("UPDATE users SET role = 'engineer' WHERE username = 'olga'")
    with pytest.raises(AccessError, match="changed outside the station"):
        login(engine, "olga", "operator-pass")


def test_accounts_deleted_in_the_database_do_not_open_a_first_run_admin(tmp_path: Path) -> None:
    """'delete from users' must not let the next person make themselves admin: a database that had
    accounts gets no first admin again."""
    url = trail(tmp_path)
    engine = open_database(url)
    with sqlite3.connect(tmp_path / "station.db") as db:
        db.execute("DELETE FROM users")
    assert accounts_were_removed(engine)
    with pytest.raises(AccessError, match="removed outside the station"):
        create_user(engine, "mallory", "mallory-pass", "admin", None)
    (tmp_path / "fresh").mkdir()
    fresh = open_database(f"sqlite:///{tmp_path / 'fresh' / 'station.db'}")
    assert not accounts_were_removed(fresh)  # a database that never had accounts: the first admin is made
    assert create_user(fresh, "ada", "admin-pass-1", "admin", None) == User("ada", "admin")
