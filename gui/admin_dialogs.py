"""The audit trail (engineers, admins) and adding accounts (admins)."""

from __future__ import annotations

import json

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
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
from inspection.recorder.accounts import ROLES, Role, require


class AuditDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        require(session.user, "audit")
        self.setWindowTitle("Audit trail")
        rows = session.services.accounts.audit_trail(limit=1000)
        self.table = QTableWidget(len(rows), 4)
        self.table.setHorizontalHeaderLabels(["time", "user", "action", "detail"])
        for row, entry in enumerate(rows):
            values = (
                local_time(entry.created_at),
                entry.username,
                entry.action,
                json.dumps(entry.detail),
            )
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        self.resize(1000, 600)


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
        self.error = error_label()
        buttons = dialog_buttons(self, self.submit, QDialogButtonBox.StandardButton.Ok)
        form = QFormLayout(self)
        form.addRow("User", self.username)
        form.addRow("Role", self.role)
        form.addRow("Password", self.password)
        form.addRow(self.error)
        form.addRow(buttons)

    def submit(self) -> None:
        role: Role = next(r for r in ROLES if r == self.role.currentText())
        try:
            self.session.services.accounts.create_user(
                self.username.text(), self.password.text(), role, self.session.user
            )
        except StationError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
