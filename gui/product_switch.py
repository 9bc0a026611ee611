"""Switching the product at the cell (engineers): pick a recipe, the station finishes the parts in
flight, the station file names the new recipe (audited), and the station starts again on it. Until the
station can change over while running (the changeover issue), this is a restart, and the state area
says so: CHANGING PRODUCT from the choice until the station runs again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from gui.controller import StationController
from gui.live_status import LiveStatus
from gui.session import Session
from gui.widgets.forms import dialog_buttons, error_label
from inspection.config import Recipe, StationConfig, load_recipe
from inspection.core.errors import StationError
from inspection.detectors.base import model_name


def candidate_recipes(config: StationConfig) -> list[tuple[Path, Recipe]]:
    """The station's recipe, those the line may switch to, and the recipes beside the current one, each
    once; files that do not load as a recipe are left out."""
    paths = [config.recipe, *config.recipes.values(), *sorted(config.recipe.parent.glob("*.yaml"))]
    seen: set[Path] = set()
    found = []
    for path in paths:
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        try:
            found.append((path, load_recipe(path)))
        except (StationError, ValueError):
            continue
    return found


class ProductDialog(QDialog):
    def __init__(self, config: StationConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Product")
        self.setMinimumWidth(560)
        self.choices = candidate_recipes(config)
        self.list = QListWidget()
        for path, recipe in self.choices:
            now = "   (now)" if path.resolve() == config.recipe.resolve() else ""
            item = QListWidgetItem(f"{recipe.name} v{recipe.version} — model {model_name(recipe.model)}{now}")
            item.setToolTip(str(path))
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.error = error_label()
        self.chosen: Path | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The station finishes the parts in flight, then starts again on the chosen recipe."))
        layout.addWidget(self.list)
        layout.addWidget(self.error)
        layout.addWidget(dialog_buttons(self, self.choose, QDialogButtonBox.StandardButton.Ok))

    def choose(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.choices):
            self.error.setText("Choose a recipe.")
            return
        self.chosen = self.choices[row][0]
        self.accept()


class ProductSwitch(QObject):
    """``switched(message)``: the station file names the new recipe (the window reads it again)."""

    def __init__(
        self, controller: StationController, session: Session, live: LiveStatus, switched: Callable[[str], None]
    ) -> None:
        super().__init__(live)
        self.controller = controller
        self.session = session
        self.live = live
        self.switched = switched
        self.pending: Path | None = None
        controller.finished.connect(lambda _summary: self._stopped())
        controller.failed.connect(lambda _message: self._stopped())

    def switch(self, recipe: Path) -> None:
        name = load_recipe(recipe).name
        if self.controller.running:
            self.pending = recipe
            self.live.changing(name, "finishing the parts in flight")
            self.controller.stop()
            return
        self._apply(recipe, restart=False)

    def _stopped(self) -> None:
        recipe, self.pending = self.pending, None
        if recipe is not None:
            self._apply(recipe, restart=True)

    def _apply(self, recipe: Path, restart: bool) -> None:
        try:
            self.session.services.edits.product(self.session.user, self.controller.config_path, recipe)
        except StationError as exc:
            self.live.changing(None, "")
            self.live.panel.say(f"Product not changed: {exc}", "error")
            if restart:
                self.controller.start()  # back on the product it ran
            return
        name = load_recipe(recipe).name
        self.switched(
            f"Product {name}" + (": the station starts on it." if restart else "; it runs from the next start.")
        )
        if restart:
            self.live.changing(name, "loading the model and opening the camera")
            self.controller.start()
        else:
            self.live.changing(None, "")
