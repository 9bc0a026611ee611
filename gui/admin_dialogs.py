"""The audit trail (engineers, admins) and adding accounts (admins)."""

from __future__ import annotations

import json

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
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
from inspection.recorder.accounts import ROLES, Role, require
from inspection.recorder.audit import ChainReport


class AuditDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        require(session.user, "audit")
        self.setWindowTitle("Audit trail")
        rows = session.services.accounts.audit_trail(limit=1000)
        report = session.services.accounts.audit_chain()
        self.table = QTableWidget(len(rows), 5)
        self.table.setHorizontalHeaderLabels(["entry", "time", "user", "action", "detail"])
        self.table.verticalHeader().setVisible(False)
        for row, entry in enumerate(rows):
            values = (
                str(entry.id),
                local_time(entry.created_at),
                entry.username,
                entry.action,
                json.dumps(entry.detail),
            )
            untrusted = report.broken_at is not None and entry.id >= report.broken_at
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if untrusted:
                    item.setForeground(QColor("#c62828"))
                self.table.setItem(row, column, item)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.chain = QLabel(_chain_text(report))
        self.chain.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.chain)
        layout.addWidget(self.table)
        self.resize(1000, 600)


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
