"""Switching the product at the cell (engineers): pick a recipe; a running station changes over between
two parts without a restart (the parts in flight finish on the old product; CHANGING PRODUCT on screen
until it is ready), then the station file names the new recipe (audited) for the next start. A stopped
station only has its file changed. A refused product leaves the station on the one it ran."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from gui.controller import StationController
from gui.live_status import LiveStatus
from gui.session import Session
from gui.widgets.forms import dialog_buttons, error_label
from inspection.config import Recipe, StationConfig, load_recipe
from inspection.core.errors import StationError
from inspection.detectors.base import model_name
from inspection.station.changeover import ChangeoverResult


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
        layout.addWidget(QLabel("A running station finishes the parts in flight, then inspects by the chosen recipe."))
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

    changed_over = Signal(object, object)  # the recipe file, ChangeoverResult (from the changeover thread)

    def __init__(
        self, controller: StationController, session: Session, live: LiveStatus, switched: Callable[[str], None]
    ) -> None:
        super().__init__(live)
        self.controller = controller
        self.session = session
        self.live = live
        self.switched = switched
        self.changed_over.connect(self._changed_over)

    def switch(self, recipe: Path) -> None:
        if not self.controller.running:
            self._save(recipe, "; it runs from the next start.")
            return
        try:
            chosen = load_recipe(recipe)
        except (StationError, ValueError) as exc:
            self.live.panel.say(f"Product not changed: {exc}", "error")
            return
        self.live.changing(chosen.name, "finishing the parts in flight, loading the model")

        def change_over() -> None:
            try:
                result = self.controller.change_product(chosen)
            except StationError as exc:  # the station stopped meanwhile
                result = ChangeoverResult(chosen.name, chosen.version, 0.0, False, str(exc))
            self.changed_over.emit(recipe, result)

        threading.Thread(target=change_over, name="changeover", daemon=True).start()

    def _changed_over(self, recipe: Path, result: ChangeoverResult) -> None:
        self.live.changing(None, "")
        if result.refused is not None:
            self.live.panel.say(f"Product not changed: {result.refused}", "error")
            return
        self._save(recipe, f": ready in {result.seconds:.1f} s, from the next part.")

    def _save(self, recipe: Path, outcome: str) -> None:
        try:
            config = self.session.services.edits.product(self.session.user, self.controller.config_path, recipe)
        except StationError as exc:
            self.live.panel.say(f"Product not saved in the station file: {exc}", "error")
            return
        self.switched(f"Product {load_recipe(config.recipe).name}{outcome}")
