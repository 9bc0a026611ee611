"""Review one recorded part: correct / false call / escape, and fix the boxes (delete one, change its
class, draw a missing one). Saved beside the station's verdict with who and when.

The boxes are listed by class and size (mm with the station's scale); choosing one highlights it on the
image. A drawn box asks for its class before it is added. Boxes the reviewer did not change keep the
detector's confidence; drawn or re-classed ones are the reviewer's. Earlier reviews of the part are shown,
and the boxes start from the latest one's corrections."""

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
from gui.timefmt import local_time
from gui.widgets.image_view import ImageView
from inspection.core.errors import StationError
from inspection.core.sizes import describe_size
from inspection.core.types import Detection
from inspection.recorder.reviews import OUTCOMES, Outcome, Review, ReviewBox

OUTCOME_TITLES = {"correct": "Correct", "false_call": "False call", "escape": "Escape"}
# The chosen outcome stands out more than a focused button does.
CHOSEN_STYLE = (
    "QPushButton:checked { background: #1f5fbf; color: white; font-weight: bold; border: 2px solid #0b2f66; }"
)
REVIEWER = -1.0  # the confidence of a box a person drew or re-classed (shown as "reviewer")


class ReviewPanel(QWidget):
    saved = Signal(object)  # Review

    def __init__(
        self,
        session: Session,
        inspection_id: str,
        counted: list[Detection],
        classes: list[str],
        view: ImageView,
        mm_per_px: float | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        self.inspection_id = inspection_id
        self.view = view
        self.mm_per_px = mm_per_px
        self.boxes = [ReviewBox(d.label, *d.box) for d in counted]
        self.confidences = [d.confidence for d in counted]  # REVIEWER for the reviewer's own boxes
        self.touched = False  # whether the boxes were changed (else the review keeps the station's)
        self.outcome: Outcome | None = None
        self.pending: tuple[float, float, float, float] | None = None  # a drawn box waiting for its class
        self.earlier = session.services.edits.reviews_of(inspection_id)
        self._widgets(classes)
        self._layout()
        self._connect()
        self._start_from(self.earlier[-1] if self.earlier else None)

    def _widgets(self, classes: list[str]) -> None:
        self.outcome_buttons: dict[str, QPushButton] = {}
        for outcome in OUTCOMES:
            button = QPushButton(OUTCOME_TITLES[outcome])
            button.setCheckable(True)
            button.setStyleSheet(CHOSEN_STYLE)
            button.clicked.connect(lambda _checked=False, o=outcome: self.choose(o))
            self.outcome_buttons[outcome] = button
        self.history = QLabel("")
        self.history.setWordWrap(True)
        self.list = QListWidget()
        self.list.setMaximumHeight(170)  # the record's fields above keep their room
        self.classes = QComboBox()
        self.classes.addItems(classes)
        self.delete_button = QPushButton("Delete box")
        self.change_button = QPushButton("Set class")
        self.draw = QPushButton("Draw missing box")
        self.draw.setCheckable(True)
        self.add_button = QPushButton("Add box")  # a drawn box, once its class is chosen
        self.discard_button = QPushButton("Discard")
        self.zoom_fit = QPushButton("Fit")
        self.zoom_fit.setToolTip("Zoom with the mouse wheel on the image; Fit shows all of it")
        self.note = QLineEdit()
        self.note.setPlaceholderText("note (optional)")
        self.save_button = QPushButton("Save review")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        # Enter in the note saves the review; it must never press a button of its own (a QDialog's Enter
        # pressed the first auto-default one, "Correct", over the outcome chosen).
        buttons = [*self.outcome_buttons.values(), self.delete_button, self.change_button, self.draw,
                   self.add_button, self.discard_button, self.zoom_fit, self.save_button]  # fmt: skip
        for button in buttons:
            button.setAutoDefault(False)
            button.setDefault(False)
        self._show_pending(False)

    def _layout(self) -> None:
        outcomes = QHBoxLayout()
        for button in self.outcome_buttons.values():
            outcomes.addWidget(button)
        edit = QHBoxLayout()
        for widget in (self.classes, self.change_button, self.delete_button):
            edit.addWidget(widget)
        drawn = QHBoxLayout()
        for widget in (self.draw, self.add_button, self.discard_button, self.zoom_fit):
            drawn.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Review</b>"))
        layout.addWidget(self.history)
        layout.addLayout(outcomes)
        layout.addWidget(self.list)
        layout.addLayout(edit)
        layout.addLayout(drawn)
        layout.addWidget(self.note)
        layout.addWidget(self.save_button)
        layout.addWidget(self.message)

    def _connect(self) -> None:
        self.note.returnPressed.connect(self.save)
        self.delete_button.clicked.connect(self.delete_selected)
        self.change_button.clicked.connect(self.change_selected)
        self.draw.toggled.connect(self._drawing)
        self.add_button.clicked.connect(self.add_pending)
        self.discard_button.clicked.connect(self.discard_pending)
        self.zoom_fit.clicked.connect(lambda: self.view.set_zoom(1.0))
        self.list.currentRowChanged.connect(lambda row: self.view.highlight(row if row >= 0 else None))
        self.view.box_drawn.connect(self.add_box)
        self.save_button.clicked.connect(self.save)

    def _start_from(self, latest: Review | None) -> None:
        """Earlier reviews in words; the boxes as the latest review left them (saved again with this one)."""
        if latest is None:
            self.history.setText("Not reviewed yet.")
        else:
            self.history.setText("Reviewed before: " + "; ".join(_said(review) for review in self.earlier))
            if latest.boxes is not None:
                self.boxes = list(latest.boxes)
                self.confidences = [REVIEWER] * len(self.boxes)
                self.touched = True
        self._refresh()

    def choose(self, outcome: Outcome) -> None:
        self.outcome = outcome
        for name, button in self.outcome_buttons.items():
            button.setChecked(name == outcome)

    def delete_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.boxes):
            del self.boxes[row]
            del self.confidences[row]
            self._changed()

    def change_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.boxes):
            old = self.boxes[row]
            if old.label != self.classes.currentText():
                self.boxes[row] = ReviewBox(self.classes.currentText(), old.x1, old.y1, old.x2, old.y2)
                self.confidences[row] = REVIEWER
                self._changed(select=row)

    def add_box(self, x1: float, y1: float, x2: float, y2: float) -> None:
        """A box drawn on the image: it waits for its class (Add box / Discard)."""
        if not self.draw.isChecked():
            return
        self.pending = (x1, y1, x2, y2)
        self.draw.setChecked(False)
        self._show_pending(True)
        self.message.setText("Choose the class of the drawn box, then Add box.")
        drawn = Detection(self.classes.currentText() or "?", -1, REVIEWER, self.pending)
        self.view.set_boxes([*self._drawn(), (drawn, True)])
        self.view.highlight(len(self.boxes))

    def add_pending(self) -> None:
        if self.pending is None:
            return
        self.boxes.append(ReviewBox(self.classes.currentText(), *self.pending))
        self.confidences.append(REVIEWER)
        self.pending = None
        self._show_pending(False)
        self.message.setText("")
        self._changed(select=len(self.boxes) - 1)

    def discard_pending(self) -> None:
        self.pending = None
        self._show_pending(False)
        self.message.setText("")
        self._refresh()

    def save(self) -> None:
        if self.outcome is None:
            self.message.setText("Choose correct, false call or escape first.")
            return
        if self.pending is not None:
            self.message.setText("Add or discard the drawn box first.")
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
        if on:
            self.message.setText("Drag a box on the image; its class is asked next.")

    def _show_pending(self, shown: bool) -> None:
        self.add_button.setVisible(shown)
        self.discard_button.setVisible(shown)

    def _changed(self, select: int | None = None) -> None:
        self.touched = True
        self._refresh(select)

    def _drawn(self) -> list[tuple[Detection, bool]]:
        return [
            (Detection(b.label, -1, confidence, (b.x1, b.y1, b.x2, b.y2)), True)
            for b, confidence in zip(self.boxes, self.confidences, strict=True)
        ]

    def _refresh(self, select: int | None = None) -> None:
        self.list.clear()
        for (detection, _), confidence in zip(self._drawn(), self.confidences, strict=True):
            who = "reviewer" if confidence == REVIEWER else f"{confidence:.2f}"
            self.list.addItem(f"{detection.label}  {describe_size(detection, self.mm_per_px)}  ({who})")
        if self.touched:  # the image shows the boxes as the reviewer has them now
            self.view.set_boxes(self._drawn())
        if select is not None:
            self.list.setCurrentRow(select)
        else:
            self.view.highlight(None)


def _said(review: Review) -> str:
    """``False call by olga, 2026-12-03 14:05:09 CET (dust)``."""
    note = f" ({review.note})" if review.note else ""
    return f"{OUTCOME_TITLES[review.outcome]} by {review.reviewer}, {local_time(review.created_at)}{note}"
