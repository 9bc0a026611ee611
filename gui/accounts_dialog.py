"""Accounts (admins): every user with role, state and creation time; add, disable / enable, change the
role, reset the password (typed twice). Every change is audited by the recorder; a refusal says why."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.admin_dialogs import AddUserDialog
from gui.session import Session
from gui.timefmt import local_time
from gui.widgets.forms import error_label
from inspection.core.errors import StationError
from inspection.recorder.account_admin import Account
from inspection.recorder.accounts import ROLES, Role, require

COLUMNS = ("user", "role", "state", "created")


class AccountsDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        require(session.user, "users")
        self.session = session
        self.setWindowTitle("Accounts")
        self.accounts: list[Account] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.add_button = QPushButton("Add…")
        self.toggle_button = QPushButton("Disable")
        self.role = QComboBox()
        self.role.addItems(list(ROLES))
        self.role_button = QPushButton("Set role")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeated = QLineEdit()
        self.repeated.setEchoMode(QLineEdit.EchoMode.Password)
        self.reset_button = QPushButton("Reset password")
        self.message = QLabel("")
        self.error = error_label()
        self.error.setWordWrap(True)
        self._lay_out()
        self.add_button.clicked.connect(self.add)
        self.toggle_button.clicked.connect(self.toggle_active)
        self.role_button.clicked.connect(self.change_role)
        self.reset_button.clicked.connect(self.reset)
        self.table.currentCellChanged.connect(lambda *_: self._selected())
        self.refresh()
        self.resize(720, 520)

    def _lay_out(self) -> None:
        actions = QHBoxLayout()
        for widget in (self.add_button, self.toggle_button, self.role, self.role_button):
            actions.addWidget(widget)
        password = QFormLayout()
        password.addRow("New password", self.password)
        password.addRow("Again", self.repeated)
        password.addRow(self.reset_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(actions)
        layout.addLayout(password)
        layout.addWidget(self.message)
        layout.addWidget(self.error)

    def refresh(self) -> None:
        row = self.table.currentRow()
        self.accounts = self.session.services.accounts.users()
        self.table.setRowCount(len(self.accounts))
        for number, account in enumerate(self.accounts):
            values = (account.username, account.role, "active" if account.active else "disabled",
                      local_time(account.created_at))  # fmt: skip
            for column, value in enumerate(values):
                self.table.setItem(number, column, QTableWidgetItem(value))
        self.table.setCurrentCell(max(0, min(row, len(self.accounts) - 1)), 0)
        self._selected()

    def select(self, username: str) -> None:
        names = [account.username for account in self.accounts]
        self.table.setCurrentCell(names.index(username), 0)

    def chosen(self) -> Account | None:
        row = self.table.currentRow()
        return self.accounts[row] if 0 <= row < len(self.accounts) else None

    def add(self) -> AddUserDialog:
        dialog = AddUserDialog(self.session, self)
        dialog.accepted.connect(lambda: self._done(f"Account {dialog.username.text().strip()} added."))
        dialog.open()
        return dialog

    def toggle_active(self) -> None:
        account = self.chosen()
        if account is not None:
            self._run(lambda: self.session.services.accounts.set_active(
                self.session.user, account.username, not account.active),
                f"{account.username} {'enabled' if not account.active else 'disabled'}.")  # fmt: skip

    def change_role(self) -> None:
        account = self.chosen()
        role: Role = next(r for r in ROLES if r == self.role.currentText())
        if account is not None:
            self._run(lambda: self.session.services.accounts.set_role(self.session.user, account.username, role),
                      f"{account.username} is now {role}.")  # fmt: skip

    def reset(self) -> None:
        account = self.chosen()
        if account is None:
            return
        password, repeated = self.password.text(), self.repeated.text()
        self._run(lambda: self.session.services.accounts.reset_password(
            self.session.user, account.username, password, repeated),
            f"New password set for {account.username}; tell them in person.")  # fmt: skip

    def _run(self, change: Callable[[], None], done: str) -> None:
        try:
            change()
        except StationError as exc:
            self.error.setText(str(exc))
            self.message.setText("")
            return
        self.password.clear()
        self.repeated.clear()
        self._done(done)

    def _done(self, message: str) -> None:
        self.error.setText("")
        self.message.setText(message)
        self.refresh()

    def _selected(self) -> None:
        account = self.chosen()
        self.toggle_button.setText("Enable" if account is not None and not account.active else "Disable")
        if account is not None:
            self.role.setCurrentText(account.role)
