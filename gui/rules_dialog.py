"""Edit the recipe's rules (engineers): per class minimum confidence, minimum area and maximum count, and
with the station's scale the size limits in the plant's units (min size in mm, min area in mm²);
validated, previewed at once on the newest part and over the last 50 (how many verdicts would flip),
saved to the recipe file (a new recipe version) and the audit trail, and applied to the running station
from its next part."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from gui.session import Session
from gui.widgets.forms import dialog_buttons, error_label
from gui.widgets.image_view import ImageView
from inspection.config import ClassRule, Recipe, load_recipe
from inspection.core.errors import StationError
from inspection.core.events import InspectionDone
from inspection.core.types import InspectionRecord, Verdict
from inspection.quality.rules import decide

DEFAULT_ROW = "(default)"


class RulesDialog(QDialog):
    def __init__(
        self,
        session: Session,
        recipe_path: Path,
        latest: InspectionDone | None,
        parent: QWidget | None,
        recent: list[InspectionRecord] | None = None,
        mm_per_px: float | None = None,
    ) -> None:
        super().__init__(parent)
        self.recent = recent or []
        self.mm_per_px = mm_per_px
        self.setWindowTitle("Recipe rules")
        self.session = session
        self.recipe_path = recipe_path
        self.recipe = load_recipe(recipe_path)
        self.latest = latest
        self.saved: Recipe | None = None
        self.flipped = (0, 0)  # over the last parts: (FAIL -> PASS, PASS -> FAIL) with the edited rules
        self._make_table()
        self._default = self._values(DEFAULT_ROW)
        for name, (confidence, area, count) in self.editors.items():
            handler = self._default_changed if name == DEFAULT_ROW else self.preview
            for editor in (confidence, area):
                editor.valueChanged.connect(handler)
            count.valueChanged.connect(handler)
        for size, area_mm in self.mm_editors.values():
            size.valueChanged.connect(self.preview)
            area_mm.valueChanged.connect(self.preview)
        self.image = ImageView()
        self.outcome = QLabel("")
        self.outcome.setWordWrap(True)
        self.error = error_label()
        buttons = dialog_buttons(self, self.save, QDialogButtonBox.StandardButton.Save)
        left = QVBoxLayout()
        left.addWidget(self.table)
        left.addWidget(self.outcome)
        left.addWidget(self.error)
        left.addWidget(buttons)
        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addWidget(self.image, 1)
        self.resize(1200, 600)
        self.preview()

    def _make_table(self) -> None:
        """One row per class (and the default): the basic limits, and the mm limits with a scale."""
        names = [DEFAULT_ROW, *self.recipe.classes]
        headers = ["class", "min confidence", "min area (px²)", "max count"]
        scaled = self.mm_per_px is not None
        self.table = QTableWidget(len(names), len(headers) + (2 if scaled else 0))
        self.table.setHorizontalHeaderLabels(headers + (["min size (mm)", "min area (mm²)"] if scaled else []))
        self.editors: dict[str, tuple[QDoubleSpinBox, QDoubleSpinBox, QSpinBox]] = {}
        self.mm_editors: dict[str, tuple[QDoubleSpinBox, QDoubleSpinBox]] = {}
        for row, name in enumerate(names):
            rule = self.recipe.default_rule if name == DEFAULT_ROW else self.recipe.rule_for(name)
            confidence, area, count = QDoubleSpinBox(), QDoubleSpinBox(), QSpinBox()
            confidence.setRange(0.0, 1.0)
            confidence.setSingleStep(0.05)
            confidence.setDecimals(2)
            confidence.setValue(rule.min_confidence)
            area.setRange(0.0, 1e7)
            area.setValue(rule.min_area_px)
            count.setRange(0, 1000)
            count.setValue(rule.max_count)
            for column, widget in enumerate((QLabel(name), confidence, area, count)):
                self.table.setCellWidget(row, column, widget)
            self.editors[name] = (confidence, area, count)
            if scaled:
                self.mm_editors[name] = self._mm_editors(row, rule)

    def _mm_editors(self, row: int, rule: ClassRule) -> tuple[QDoubleSpinBox, QDoubleSpinBox]:
        size, area = QDoubleSpinBox(), QDoubleSpinBox()
        for editor, value, step in ((size, rule.min_size_mm, 0.05), (area, rule.min_area_mm2, 0.01)):
            editor.setRange(0.0, 1e5)
            editor.setDecimals(3)
            editor.setSingleStep(step)
            editor.setValue(value)
        self.table.setCellWidget(row, 4, size)
        self.table.setCellWidget(row, 5, area)
        return size, area

    def _values(self, name: str) -> tuple[float, float, int]:
        confidence, area, count = self.editors[name]
        return confidence.value(), area.value(), count.value()

    def _default_changed(self) -> None:
        """Classes that followed the default rule keep following it."""
        new = self._values(DEFAULT_ROW)
        for name in self.recipe.classes:
            if self._values(name) == self._default:
                confidence, area, count = self.editors[name]
                for editor, value in ((confidence, new[0]), (area, new[1])):
                    editor.blockSignals(True)
                    editor.setValue(value)
                    editor.blockSignals(False)
                count.blockSignals(True)
                count.setValue(new[2])
                count.blockSignals(False)
        self._default = new
        self.preview()

    def edited(self) -> Recipe:
        """The recipe with the rules as edited (a class whose rule equals the default keeps none of its own)."""
        default = self._edited_rule(DEFAULT_ROW, self.recipe.default_rule)
        rules = {}
        for name in self.recipe.classes:
            rule = self._edited_rule(name, self.recipe.rule_for(name))
            if rule != default:
                rules[name] = rule
        return self.recipe.model_copy(update={"default_rule": default, "rules": rules})

    def _edited_rule(self, name: str, before: ClassRule) -> ClassRule:
        """The rule as edited; the limits this table does not show (sizes in mm) stay as they were."""
        confidence, area, count = self._values(name)
        update: dict[str, float | int] = {"min_confidence": confidence, "min_area_px": area, "max_count": count}
        if name in self.mm_editors:
            size, area_mm = self.mm_editors[name]
            update |= {"min_size_mm": size.value(), "min_area_mm2": area_mm.value()}
        return before.model_copy(update=update)

    def preview(self) -> None:
        """The newest part judged with the edited rules (its recorded detections, no new inference)."""
        if self.latest is None:
            self.outcome.setText("No part yet: start the station to preview the rules on the newest part.")
            return
        recipe = self.edited()
        record = self.latest.record
        decision = decide(list(record.detections), recipe, record.mm_per_px)
        kept = set(decision.kept)
        if self.latest.frame is not None:
            self.image.show_part(self.latest.frame.image, [(d, d in kept) for d in record.detections], recipe.roi)
        reasons = "; ".join(decision.reasons) or "no defect counted"
        self.outcome.setText(
            f"Newest part with these rules: <b>{decision.verdict.value.upper()}</b> ({reasons}); "
            f"the station said {record.verdict.value.upper()}.<br>{self.flips(recipe)}"
        )

    def flips(self, recipe: Recipe) -> str:
        """The last parts judged again with ``recipe``: how many verdicts would change, each way."""
        if not self.recent:
            return ""
        now = [decide(list(r.detections), recipe, r.mm_per_px).verdict for r in self.recent]
        to_pass = sum(v == Verdict.PASS and r.verdict == Verdict.FAIL for v, r in zip(now, self.recent, strict=True))
        to_fail = sum(v == Verdict.FAIL and r.verdict == Verdict.PASS for v, r in zip(now, self.recent, strict=True))
        self.flipped = (to_pass, to_fail)
        fails = sum(v == Verdict.FAIL for v in now)
        return (
            f"Last {len(self.recent)} parts: {fails} FAIL with these rules; "
            f"<b>{to_pass + to_fail} verdicts flip</b> ({to_pass} FAIL -> PASS, {to_fail} PASS -> FAIL)."
        )

    def save(self) -> None:
        recipe = self.edited()
        try:
            self.saved = self.session.services.edits.rules(
                self.session.user, self.recipe_path, recipe.default_rule, recipe.rules
            )
        except StationError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
