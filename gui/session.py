"""Who is at the station: login, the role's permissions, and logout after a quiet spell."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QTimer, Signal

from gui.services import Services
from inspection.recorder.accounts import User

log = logging.getLogger(__name__)
ACTIVITY = {
    QEvent.Type.MouseButtonPress,
    QEvent.Type.KeyPress,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class Session(QObject):
    changed = Signal(object)  # User or None
    audit_failed = Signal(str)  # a one-line message: an action was done but its audit entry is missing

    def __init__(self, services: Services, idle_minutes: float = 15.0) -> None:
        super().__init__()
        self.services = services
        self.user: User | None = None
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(int(idle_minutes * 60_000))
        self._idle.timeout.connect(self.idle_logout)

    def may(self, permission: str) -> bool:
        return self.user is not None and self.user.may(permission)

    def log_in(self, username: str, password: str) -> User:
        self.user = self.services.accounts.login(username, password)
        self._idle.start()
        self.changed.emit(self.user)
        return self.user

    def log_out(self, reason: str = "logout") -> None:
        if self.user is not None:
            self.audit(reason, {})
        self.user = None
        self._idle.stop()
        self.changed.emit(None)

    def idle_logout(self) -> None:
        self.log_out("idle_logout")

    def audit(self, action: str, detail: dict[str, object]) -> bool:
        """Record an action in the audit trail; a database that cannot take it is reported through
        ``audit_failed`` (the action itself stands: stopping the line never waits on a database write)."""
        reason = self.services.accounts.audit(self.user.username if self.user else "?", action, detail)
        if reason is not None:
            log.error("audit entry %r not written: %s", action, reason)
            self.audit_failed.emit(f"The audit trail could not record '{action}' ({reason}); tell the engineer.")
            return False
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Installed on the application: any input restarts the idle timer."""
        if self.user is not None and event.type() in ACTIVITY:
            self._idle.start()
        return False
