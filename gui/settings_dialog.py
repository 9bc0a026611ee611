"""Station settings (engineers): the camera, the archive policy, and the recipe's model from the registry.
Camera and archive changes apply at the next start; a model change too (the station loads it then)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from gui.session import Session
from gui.widgets.forms import dialog_buttons, error_label
from inspection.cameras.pylon import enable_emulation, list_pylon_cameras
from inspection.config import PylonCamera, StationConfig, load_recipe
from inspection.core.errors import StationError
from inspection.detectors.base import model_name
from inspection.ml.registry.store import AUTO_FORMAT, DEFAULT_REGISTRY, list_models

KEEP = "(keep)"


class SettingsDialog(QDialog):
    def __init__(
        self,
        session: Session,
        config_path: Path,
        config: StationConfig,
        registry: Path = DEFAULT_REGISTRY,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Station settings")
        self.setMinimumWidth(520)
        self.session = session
        self.config_path = config_path
        self.config = config
        self.registry = registry
        self.camera = QComboBox()
        self.camera.addItem(KEEP)
        camera = config.camera
        if isinstance(camera, PylonCamera):
            enable_emulation(camera.emulated)
            for found in list_pylon_cameras(emulator_only=camera.emulated > 0):
                self.camera.addItem(found["serial"])
        self.archive = QComboBox()
        self.archive.addItems(["all", "fail", "none"])
        self.archive.setCurrentText(config.storage.archive)
        recipe = load_recipe(config.recipe)
        self.model = QComboBox()
        self.model.addItem(KEEP)
        for card in list_models(registry):
            if card.classes == recipe.classes:
                self.model.addItem(card.name)
        self.error = error_label()
        self.error.setWordWrap(True)
        buttons = dialog_buttons(self, self.save, QDialogButtonBox.StandardButton.Save)
        form = QFormLayout(self)
        form.addRow("Camera (serial)", self.camera)
        form.addRow("Images to keep", self.archive)
        form.addRow("Model for the recipe", self.model)
        form.addRow(QLabel(f"Now: {model_name(recipe.model)}. Changes apply at the next start."))
        form.addRow(self.error)
        form.addRow(buttons)

    def save(self) -> None:
        try:
            serial = None if self.camera.currentText() == KEEP else self.camera.currentText()
            archive = self.archive.currentText()
            if serial is not None or archive != self.config.storage.archive:
                self.config = self.session.services.edits.station_options(
                    self.session.user, self.config_path, serial,
                    archive if archive != self.config.storage.archive else None,
                )  # fmt: skip
            if self.model.currentText() != KEEP:
                self.session.services.edits.model(
                    self.session.user,
                    self.registry / self.model.currentText(),
                    self.config.recipe,
                    AUTO_FORMAT,  # the model folder: the station runs it as its device calls for
                )
        except StationError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
