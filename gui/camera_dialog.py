"""Camera settings with a live image (engineers, the station stopped): exposure and gain change on the
open camera as they are turned, so the image shows their effect at once; the trigger mode is saved for
the next start (the preview triggers by software). Save writes them into the station file, audited."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QWidget,
)

from gui.session import Session
from gui.widgets.forms import dialog_buttons, error_label
from gui.widgets.image_view import ImageView
from inspection.cameras.base import CameraSource
from inspection.cameras.registry import make_camera
from inspection.config import StationConfig
from inspection.config.cameras import Trigger
from inspection.core.errors import CameraError, StationError
from inspection.core.types import Frame

PREVIEW_MS = 200  # the image is refreshed this often
TITLES = {"exposure_us": "Exposure (µs)", "gain": "Gain"}
TRIGGER_MODES = ("software", "hardware", "free_run")


class CameraDialog(QDialog):
    def __init__(
        self, session: Session, config_path: Path, config: StationConfig, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Camera {config.camera.label()}")
        self.session, self.config_path, self.config = session, config_path, config
        self.view = ImageView()
        self.error = error_label()
        self.error.setWordWrap(True)
        self.editors: dict[str, QDoubleSpinBox] = {}
        self.started: dict[str, float] = {}  # each setting's value when the preview opened
        self.latest: Frame | None = None
        self.frames = 0
        self.problem = ""  # the preview's last grab error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.source = self._open()
        form = QFormLayout()
        for name, setting in (self.source.adjustable() if self.source else {}).items():
            editor = QDoubleSpinBox()
            editor.setRange(setting.minimum, setting.maximum)
            editor.setDecimals(1)
            editor.setValue(setting.value)
            editor.valueChanged.connect(lambda value, n=name: self.adjust(n, value))
            self.editors[name] = editor
            self.started[name] = setting.value
            form.addRow(TITLES.get(name, name), editor)
        self.trigger = QComboBox()
        self.trigger.addItems(list(TRIGGER_MODES))
        current = getattr(config.camera, "trigger", None)
        self.trigger.setCurrentText(current.mode if current is not None else "software")
        form.addRow("Trigger (from the next start)", self.trigger)
        form.addRow(self.error)
        form.addRow(dialog_buttons(self, self.save, QDialogButtonBox.StandardButton.Save))
        side = QWidget()
        side.setLayout(form)
        side.setFixedWidth(380)
        layout = QHBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(side)
        self.resize(1100, 700)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._show)
        self._timer.start(PREVIEW_MS)

    def _open(self) -> CameraSource | None:
        camera = self.config.camera
        if getattr(camera, "type", None) != "pylon":
            self.error.setText("Live settings are for pylon (Basler) cameras; this one is set in the station file.")
            return None
        preview = camera.model_copy(update={"trigger": Trigger(mode="software")})
        source = make_camera(preview)
        try:
            source.open()
        except (CameraError, StationError) as exc:
            self.error.setText(f"The camera cannot be opened: {exc}")
            return None
        self._thread = threading.Thread(target=self._grab, args=(source,), name="camera-preview", daemon=True)
        self._thread.start()
        return source

    def _grab(self, source: CameraSource) -> None:
        """The preview's frames, on a thread of their own (a long exposure never freezes the window)."""
        while not self._stop.is_set():
            try:
                frame = source.grab()
            except Exception as exc:  # a pulled cable: say it, keep trying
                self.problem = str(exc)
                time.sleep(0.5)
                continue
            if frame is not None:
                self.latest = frame
                self.frames += 1
            self._stop.wait(PREVIEW_MS / 2000)

    def _show(self) -> None:
        frame = self.latest
        if frame is not None:
            self.view.show_part(frame.image, [], None)

    def adjust(self, name: str, value: float) -> None:
        if self.source is None:
            return
        try:
            taken = self.source.adjust(name, value)
        except (CameraError, StationError) as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("" if abs(taken - value) < 1e-6 else f"The camera took {taken:g} for {TITLES[name]}.")

    def save(self) -> None:
        settings = {  # only what was changed: the station file keeps what it says otherwise
            name: editor.value()
            for name, editor in self.editors.items()
            if editor.value() != getattr(self.config.camera, name, None) and editor.value() != self.started[name]
        }
        trigger = getattr(self.config.camera, "trigger", Trigger())
        chosen = trigger.model_copy(update={"mode": self.trigger.currentText()})
        try:
            self.config = self.session.services.edits.camera_settings(
                self.session.user, self.config_path, settings, chosen if chosen != trigger else None
            )
        except StationError as exc:
            self.error.setText(str(exc))
            return
        self.accept()

    def done(self, result: int) -> None:
        """Closing (saved or not) gives the camera back to the station."""
        self._timer.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)  # its last grab, before the camera closes
        if self.source is not None:
            self.source.close()
            self.source = None
        super().done(result)
