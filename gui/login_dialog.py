"""Login, and the first run's admin account (chosen by the person, never a default password)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from gui.session import Session
from gui.widgets.forms import dialog_buttons, error_label
from inspection.core.errors import StationError
from inspection.recorder.accounts import MIN_PASSWORD


class LoginDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Log in")
        self.setMinimumWidth(380)
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = error_label()
        buttons = dialog_buttons(self, self.submit, QDialogButtonBox.StandardButton.Ok)
        form = QFormLayout(self)
        form.addRow("User", self.username)
        form.addRow("Password", self.password)
        form.addRow(self.error)
        form.addRow(buttons)

    def submit(self) -> None:
        try:
            self.session.log_in(self.username.text(), self.password.text())
        except StationError as exc:
            self.error.setText(str(exc))
            self.password.clear()
            return
        self.accept()


class FirstAdminDialog(QDialog):
    """No account exists yet: the person setting up the station chooses the admin's name and password."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Create the administrator")
        self.setMinimumWidth(460)
        intro = QLabel(
            "No account exists on this station yet. Choose the administrator's user name and password "
            f"(at least {MIN_PASSWORD} characters). The administrator then adds operators and engineers."
        )
        intro.setWordWrap(True)
        self.username = QLineEdit("admin")
        self.password = QLineEdit()
        self.repeat = QLineEdit()
        for field in (self.password, self.repeat):
            field.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = error_label()
        buttons = dialog_buttons(self, self.submit, QDialogButtonBox.StandardButton.Ok)
        form = QFormLayout(self)
        form.addRow(intro)
        form.addRow("User", self.username)
        form.addRow("Password", self.password)
        form.addRow("Repeat", self.repeat)
        form.addRow(self.error)
        form.addRow(buttons)

    def submit(self) -> None:
        if self.password.text() != self.repeat.text():
            self.error.setText("the two passwords differ")
            return
        try:
            self.session.services.accounts.create_user(self.username.text(), self.password.text(), "admin", None)
            self.session.log_in(self.username.text(), self.password.text())
        except StationError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
