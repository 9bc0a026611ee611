"""Review one recorded part: correct / false call / escape, and fix the boxes (delete one, change its
class, draw a missing one). Saved beside the station's verdict with who and when."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.session import Session
from gui.widgets.image_view import ImageView
from inspection.core.errors import StationError
from inspection.core.types import Detection
from inspection.recorder.reviews import OUTCOMES, Outcome, ReviewBox

OUTCOME_TITLES = {"correct": "Correct", "false_call": "False call", "escape": "Escape"}
# The chosen outcome stands out more than a focused button does.
CHOSEN_STYLE = (
    "QPushButton:checked { background: #1f5fbf; color: white; font-weight: bold; border: 2px solid #0b2f66; }"
)


class ReviewPanel(QWidget):
    saved = Signal(object)  # Review

    def __init__(
        self,
        session: Session,
        inspection_id: str,
        counted: list[Detection],
        classes: list[str],
        view: ImageView,
    ) -> None:
        super().__init__()
        self.session = session
        self.inspection_id = inspection_id
        self.view = view
        self.boxes = [ReviewBox(d.label, *d.box) for d in counted]
        self.touched = False  # whether the boxes were changed (else the review keeps the station's)
        self.outcome: Outcome | None = None
        self.outcome_buttons: dict[str, QPushButton] = {}
        outcomes = QHBoxLayout()
        for outcome in OUTCOMES:
            button = QPushButton(OUTCOME_TITLES[outcome])
            button.setCheckable(True)
            button.clicked.connect(lambda _checked=False, o=outcome: self.choose(o))
            self.outcome_buttons[outcome] = button
            outcomes.addWidget(button)
        self.list = QListWidget()
        self.classes = QComboBox()
        self.classes.addItems(classes)
        delete = QPushButton("Delete box")
        change = QPushButton("Set class")
        self.draw = QPushButton("Draw missing box")
        self.draw.setCheckable(True)
        edit = QHBoxLayout()
        for widget in (delete, self.classes, change, self.draw):
            edit.addWidget(widget)
        self.note = QLineEdit()
        self.note.setPlaceholderText("note (optional)")
        self.save_button = QPushButton("Save review")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Review</b>"))
        layout.addLayout(outcomes)
        layout.addWidget(self.list)
        layout.addLayout(edit)
        layout.addWidget(self.note)
        layout.addWidget(self.save_button)
        layout.addWidget(self.message)
        # Enter in the note saves the review; it must never press a button of its own (a QDialog's Enter
        # pressed the first auto-default one, "Correct", over the outcome chosen).
        for button in [*self.outcome_buttons.values(), delete, change, self.draw, self.save_button]:
            button.setAutoDefault(False)
            button.setDefault(False)
        for button in self.outcome_buttons.values():
            button.setStyleSheet(CHOSEN_STYLE)
        self.note.returnPressed.connect(self.save)
        delete.clicked.connect(self.delete_selected)
        change.clicked.connect(self.change_selected)
        self.draw.toggled.connect(self._drawing)
        view.box_drawn.connect(self.add_box)
        self.save_button.clicked.connect(self.save)
        self._refresh()

    def choose(self, outcome: Outcome) -> None:
        self.outcome = outcome
        for name, button in self.outcome_buttons.items():
            button.setChecked(name == outcome)

    def delete_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.boxes):
            del self.boxes[row]
            self.touched = True
            self._refresh()

    def change_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.boxes):
            old = self.boxes[row]
            self.boxes[row] = ReviewBox(self.classes.currentText(), old.x1, old.y1, old.x2, old.y2)
            self.touched = True
            self._refresh()

    def add_box(self, x1: float, y1: float, x2: float, y2: float) -> None:
        if not self.draw.isChecked():
            return
        self.boxes.append(ReviewBox(self.classes.currentText(), x1, y1, x2, y2))
        self.touched = True
        self.draw.setChecked(False)
        self._refresh()

    def save(self) -> None:
        if self.outcome is None:
            self.message.setText("Choose correct, false call or escape first.")
            return
        try:
            review = self.session.services.edits.review(
                self.session.user,
                self.inspection_id,
                self.outcome,
                list(self.boxes) if self.touched else None,
                self.note.text().strip(),
            )
        except StationError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"Saved: {OUTCOME_TITLES[review.outcome]} by {review.reviewer}.")
        self.saved.emit(review)

    def _drawing(self, on: bool) -> None:
        self.view.drawing = on

    def _refresh(self) -> None:
        self.list.clear()
        for box in self.boxes:
            self.list.addItem(f"{box.label}  [{box.x1:.0f}, {box.y1:.0f}, {box.x2:.0f}, {box.y2:.0f}]")
        if self.touched:  # the image shows the boxes as the reviewer has them now
            drawn = [(Detection(b.label, -1, 1.0, (b.x1, b.y1, b.x2, b.y2)), True) for b in self.boxes]
            self.view.set_boxes(drawn)
