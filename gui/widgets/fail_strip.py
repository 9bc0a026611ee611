"""Thumbnails of the last failed parts; a click opens the part."""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from gui.widgets.image_view import to_qimage
from inspection.core.types import Image, InspectionRecord

THUMBNAIL = 96


def thumbnail(image: Image) -> Image:
    """A small copy (made off the GUI thread, by the bridge)."""
    height, width = image.shape[:2]
    scale = THUMBNAIL / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


class FailStrip(QWidget):
    opened = Signal(object, object)  # InspectionRecord, full image

    def __init__(self, size: int = 8) -> None:
        super().__init__()
        self.parts: deque[tuple[InspectionRecord, Image, Image]] = deque(maxlen=size)
        self._stale = False
        self.buttons: list[QToolButton] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Last fails"))
        for index in range(size):
            button = QToolButton()
            button.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
            button.setFixedSize(THUMBNAIL + 8, THUMBNAIL + 8)
            button.setEnabled(False)
            button.clicked.connect(lambda _checked=False, i=index: self._open(i))
            self.buttons.append(button)
            layout.addWidget(button)
        layout.addStretch(1)

    def add(self, record: InspectionRecord, image: Image, small: Image) -> None:
        """Keep the part; the icons are redrawn by ``refresh`` (with the live view, not per part)."""
        self.parts.appendleft((record, image, small))
        self._stale = True

    def refresh(self) -> None:
        if not self._stale:
            return
        self._stale = False
        for button, (part, _, icon) in zip(self.buttons, self.parts, strict=False):
            button.setIcon(QIcon(QPixmap.fromImage(to_qimage(icon))))
            button.setToolTip("; ".join(part.reasons))
            button.setEnabled(True)

    def _open(self, index: int) -> None:
        if index < len(self.parts):
            record, image, _ = self.parts[index]
            self.opened.emit(record, image)
