"""The audit trail (engineers, admins) and adding accounts (admins)."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.session import Session
from gui.timefmt import local_time
from gui.widgets.forms import dialog_buttons, error_label
from inspection.core.errors import StationError
from inspection.recorder.account_admin import check_new_password
from inspection.recorder.accounts import ROLES, Role, require
from inspection.recorder.audit import ChainReport

ANY = "(any)"


class AuditDialog(QDialog):
    """The trail newest first, filtered by user, action and any text; details in words, not JSON."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        require(session.user, "audit")
        self.setWindowTitle("Audit trail")
        self.rows = session.services.accounts.audit_trail(limit=1000)
        report = session.services.accounts.audit_chain()
        self.table = QTableWidget(len(self.rows), 5)
        self.table.setHorizontalHeaderLabels(["entry", "time", "user", "action", "detail"])
        self.table.verticalHeader().setVisible(False)
        self.texts: list[str] = []  # each entry's words, lower case, for the text filter
        for row, entry in enumerate(self.rows):
            values = (str(entry.id), local_time(entry.created_at), entry.username, entry.action, readable(entry.detail))
            self.texts.append(" ".join(values).lower())
            untrusted = report.broken_at is not None and entry.id >= report.broken_at
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                if untrusted:
                    item.setForeground(QColor("#c62828"))
                self.table.setItem(row, column, item)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.chain = QLabel(_chain_text(report))
        self.chain.setWordWrap(True)
        self.user = QComboBox()
        self.user.addItems([ANY, *sorted({entry.username for entry in self.rows})])
        self.action = QComboBox()
        self.action.addItems([ANY, *sorted({entry.action for entry in self.rows})])
        self.text = QLineEdit()
        self.text.setPlaceholderText("contains ...")
        filters = QHBoxLayout()
        for title, widget in (("User", self.user), ("Action", self.action), ("Text", self.text)):
            filters.addWidget(QLabel(title))
            filters.addWidget(widget, 1 if widget is self.text else 0)
        for box in (self.user, self.action):
            box.currentTextChanged.connect(lambda _text: self.apply_filter())
        self.text.textChanged.connect(lambda _text: self.apply_filter())
        layout = QVBoxLayout(self)
        layout.addWidget(self.chain)
        layout.addLayout(filters)
        layout.addWidget(self.table)
        self.resize(1100, 640)

    def apply_filter(self) -> int:
        """Hide the entries the filters leave out; returns how many are shown."""
        user, action, text = self.user.currentText(), self.action.currentText(), self.text.text().strip().lower()
        shown = 0
        for row, entry in enumerate(self.rows):
            keep = (user == ANY or entry.username == user) and (action == ANY or entry.action == action)
            keep = keep and text in self.texts[row]
            self.table.setRowHidden(row, not keep)
            shown += keep
        return shown


def readable(detail: dict[str, Any], prefix: str = "") -> str:
    """``recipe: a.yaml; version: 1 -> 2; after.default_rule.min_confidence: 0.9`` for an entry's detail."""
    if set(detail) == {"before", "after"} and not isinstance(detail["before"], dict):
        return f"{prefix}{detail['before']} -> {detail['after']}"
    parts = []
    for key, value in detail.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            parts.append(readable(value, f"{name}.") if set(value) != {"before", "after"} else
                         f"{name}: {value['before']} -> {value['after']}")  # fmt: skip
        else:
            parts.append(f"{name}: {json.dumps(value) if isinstance(value, list | dict) else value}")
    return "; ".join(parts)


def _chain_text(report: ChainReport) -> str:
    if report.intact:
        return f"The trail is whole: {report.entries} entries, each chained to the one before."
    return (
        f"<b style='color:#c62828'>The trail was tampered with at entry {report.broken_at}: {report.problem}.</b> "
        "Entries from there on cannot be trusted; tell the quality engineer (inspection audit verify)."
    )


class AddUserDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        require(session.user, "users")
        self.session = session
        self.setWindowTitle("Add an account")
        self.username = QLineEdit()
        self.role = QComboBox()
        self.role.addItems(list(ROLES))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeated = QLineEdit()
        self.repeated.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = error_label()
        buttons = dialog_buttons(self, self.submit, QDialogButtonBox.StandardButton.Ok)
        form = QFormLayout(self)
        form.addRow("User", self.username)
        form.addRow("Role", self.role)
        form.addRow("Password", self.password)
        form.addRow("Password again", self.repeated)
        form.addRow(self.error)
        form.addRow(buttons)

    def submit(self) -> None:
        role: Role = next(r for r in ROLES if r == self.role.currentText())
        try:
            check_new_password(self.password.text(), self.repeated.text())
            self.session.services.accounts.create_user(
                self.username.text(), self.password.text(), role, self.session.user
            )
        except StationError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
