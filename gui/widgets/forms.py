"""Pieces every dialog of the app uses the same way."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel

ERROR_STYLE = "color: #c62828;"


def error_label() -> QLabel:
    """An empty label for a dialog's one-line error, in the app's error colour."""
    label = QLabel("")
    label.setStyleSheet(ERROR_STYLE)
    return label


def dialog_buttons(
    dialog: QDialog, on_accept: Callable[[], None], accept: QDialogButtonBox.StandardButton
) -> QDialogButtonBox:
    """``accept`` (Ok or Save) runs ``on_accept`` (which closes the dialog when it succeeds); Cancel rejects."""
    buttons = QDialogButtonBox(accept | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(on_accept)
    buttons.rejected.connect(dialog.reject)
    return buttons
