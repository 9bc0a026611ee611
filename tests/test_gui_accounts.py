"""Accounts and the audit view (issue 19, point 7) through the real widgets (offscreen) on a real SQLite
file: the user list, disable / enable, role change and password reset by an admin (typed twice), each
audited; refusals from the window audited; the audit view's filters and readable details; History and
Charts only after a login."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_station

pytest.importorskip("pytestqt")

from gui_helpers import PASSWORDS, operator_window

from gui.accounts_dialog import AccountsDialog
from gui.admin_dialogs import AuditDialog
from inspection.recorder.accounts import AccessError, login
from inspection.recorder.audit import entries


def test_an_admin_manages_accounts_and_every_change_is_audited(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = operator_window(qtbot, write_station(tmp_path), "admin")
    engine = window.session.services.engine
    dialog = window.open_users()
    assert isinstance(dialog, AccountsDialog)
    qtbot.addWidget(dialog)
    assert [a.username for a in dialog.accounts] == ["ada", "eric", "olga"]
    assert [dialog.table.item(row, 2).text() for row in range(3)] == ["active"] * 3

    dialog.select("olga")
    assert dialog.toggle_button.text() == "Disable"
    dialog.toggle_active()
    assert "olga disabled" in dialog.message.text() and dialog.table.item(2, 2).text() == "disabled"
    with pytest.raises(AccessError):
        login(engine, "olga", PASSWORDS["operator"])  # a disabled account cannot log in
    dialog.select("olga")
    dialog.toggle_active()
    assert login(engine, "olga", PASSWORDS["operator"]).role == "operator"

    dialog.select("olga")
    dialog.role.setCurrentText("engineer")
    dialog.change_role()
    assert login(engine, "olga", PASSWORDS["operator"]).role == "engineer"  # the seal follows the change

    dialog.select("eric")
    dialog.password.setText("new-engineer-pass")
    dialog.repeated.setText("new-engineer-pasS")
    dialog.reset()
    assert "differ" in dialog.error.text()
    dialog.repeated.setText("new-engineer-pass")
    dialog.reset()
    assert dialog.error.text() == "" and dialog.password.text() == ""
    assert login(engine, "eric", "new-engineer-pass").username == "eric"

    dialog.select("ada")
    dialog.toggle_active()  # an admin cannot lock themselves out
    dialog.role.setCurrentText("operator")
    dialog.change_role()
    assert "another admin" in dialog.error.text()
    assert login(engine, "ada", PASSWORDS["admin"]).role == "admin"

    add = dialog.add()
    qtbot.addWidget(add)
    add.username.setText("otto")
    add.password.setText("otto-password")
    add.repeated.setText("otto-passw0rd")
    add.submit()
    assert "differ" in add.error.text()
    add.repeated.setText("otto-password")
    add.submit()
    assert "otto" in [a.username for a in dialog.accounts]

    trail = [(e.username, e.action, e.detail.get("user")) for e in entries(engine)]
    for action, user in (("user_disable", "olga"), ("user_enable", "olga"), ("user_role", "olga"),
                         ("user_password_reset", "eric"), ("user_add", "otto")):  # fmt: skip
        assert ("ada", action, user) in trail
    assert all("pass" not in str(e.detail) for e in entries(engine) if e.action == "user_password_reset")

    audit = window.open_audit()
    assert isinstance(audit, AuditDialog)
    qtbot.addWidget(audit)
    audit.action.setCurrentText("user_role")
    assert audit.apply_filter() == 1
    shown = next(row for row in range(audit.table.rowCount()) if not audit.table.isRowHidden(row))
    assert audit.table.item(shown, 4).text() == "user: olga; role: engineer"  # words, not JSON
    audit.action.setCurrentText("(any)")
    audit.text.setText("eric")
    assert 0 < audit.apply_filter() < len(audit.rows)


def test_refusals_from_the_window_are_audited_and_history_needs_a_login(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = operator_window(qtbot, write_station(tmp_path), "operator")
    assert not window.users_button.isEnabled() and window.users_button.toolTip()  # greyed, and says why
    assert window.open_users() is None and window.open_audit() is None
    trail = [(e.username, e.action, e.detail.get("action")) for e in entries(window.session.services.engine)]
    assert ("olga", "denied", "users") in trail and ("olga", "denied", "audit") in trail
    assert window.history_button.isEnabled()
    window.session.log_out()
    assert not window.history_button.isEnabled() and not window.charts_button.isEnabled()
    assert window.open_history() is None and window.open_charts() is None
    assert "Log in" in window.message.text()
