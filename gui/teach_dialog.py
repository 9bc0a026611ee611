"""Teach a new product at the cell (engineers): name it, capture good parts with the station's camera (or
pick a folder), train in a separate process with a progress bar and Cancel, set the threshold on the
held-out good parts' scores (and see a few known bad parts scored), save the recipe and switch to it.
The steps are ``inspection/station/teach.py``'s, shared with ``inspection teach``."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.session import Session
from gui.widgets.image_view import ImageView
from inspection.cameras.registry import make_camera
from inspection.config import PROJECT_ROOT, StationConfig
from inspection.core.errors import StationError
from inspection.core.images import list_images, load_image
from inspection.core.types import Image
from inspection.detectors import load_detector
from inspection.station.station_edit import switch_station_recipe
from inspection.station.teach import (
    TeachPlan,
    capture_good_parts,
    discard,
    false_reject_at,
    register_product,
    take_folder,
    write_recipe,
)

PROGRESS = re.compile(r"^(features|memory|threshold): (\d+)/(\d+)")
STEP_SHARE = {"features": (0, 40), "memory": (40, 80), "threshold": (80, 100)}  # of the progress bar
SLIDER_STEPS = 100  # the threshold slider: 0.01 .. 1.00
MAX_BAD_PARTS = 20


class ScoreHistogram(QWidget):
    """Held-out good parts' scores as bars (0 .. 1, last bin open), threshold: red line, bad parts: red ticks."""

    def __init__(self) -> None:
        super().__init__()
        self.good: list[float] = []  # held-out good parts' scores
        self.bad: list[float] = []  # known bad parts' scores
        self.threshold = 0.5
        self.setMinimumSize(420, 140)

    def paintEvent(self, _event: object) -> None:
        """Bars above the axis; below it the bad parts' ticks, then the scale's labels (none covers another)."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(250, 250, 250))
        metrics = painter.fontMetrics()
        width, height = self.width() - 20, self.height() - 26 - metrics.height()
        bins = [0] * 20
        for score in self.good:
            bins[min(int(max(score, 0.0) * 20), 19)] += 1
        tallest = max(bins) or 1
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(60, 140, 60))
        for index, count in enumerate(bins):
            bar = height * count / tallest
            painter.drawRect(QRectF(10 + index * width / 20, 10 + height - bar, width / 20 - 2, bar))
        painter.setPen(QPen(QColor(120, 120, 120), 1))
        painter.drawLine(10, 10 + height, 10 + width, 10 + height)  # the axis
        painter.setPen(QPen(QColor(200, 30, 30), 2))
        x = 10 + min(self.threshold, 1.0) * width
        painter.drawLine(int(x), 5, int(x), 10 + height)
        for score in self.bad:
            bx = 10 + min(max(score, 0.0), 1.0) * width
            painter.drawLine(int(bx), 13 + height, int(bx), 22 + height)
        painter.setPen(QColor(40, 40, 40))
        for value, text in ((0.0, "0"), (0.5, "0.5"), (1.0, "1+")):
            advance = metrics.horizontalAdvance(text)
            left = min(max(10 + value * width - advance / 2, 2), self.width() - 2 - advance)
            painter.drawText(int(left), self.height() - 2 - metrics.descent(), text)


class _Capture(QObject):
    """Carries the capture thread's news to the window's thread."""

    shown = Signal(int, object)  # count so far, the image
    done = Signal(object)  # list of paths, or the error message (str)


class TeachDialog(QDialog):
    def __init__(
        self, session: Session, station_path: Path, config: StationConfig, work_root: Path | None = None,
        registry: Path | None = None, recipes: Path | None = None, parent: QWidget | None = None,
    ) -> None:  # fmt: skip
        super().__init__(parent)
        self.setWindowTitle("Teach a new product")
        self.session, self.station_path, self.config = session, station_path, config
        self.options: dict[str, Any] = {
            key: value for key, value in (("registry", registry), ("recipes", recipes)) if value is not None
        }
        self.work_root = work_root or PROJECT_ROOT / "runs" / "teach"
        self.plan: TeachPlan | None = None
        self.images: list[Path] = []
        self.model: Path | None = None
        self.section: dict[str, Any] = {}
        self.saved: Path | None = None
        self.process: QProcess | None = None
        self._capture = _Capture()
        self._capture.shown.connect(self._captured_one)
        self._capture.done.connect(self._capture_done)
        self._make_widgets()
        self._layout()
        self._enable()

    def _make_widgets(self) -> None:
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. housing-a12 (letters, digits, . _ -)")
        self.count = QSpinBox()
        self.count.setRange(10, 1000)
        self.count.setValue(30)
        self.capture_button = QPushButton("Capture good parts")
        self.folder_button = QPushButton("Pick a folder of good parts...")
        self.counter = QLabel("no good parts yet")
        self.view = ImageView()
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel training")
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.histogram = ScoreHistogram()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, SLIDER_STEPS)
        self.slider.setValue(SLIDER_STEPS // 2)
        self.legend = QLabel("green: held-out good parts by score; red line: the threshold; red ticks: known bad parts")
        self.rate = QLabel("")
        self.bad_button = QPushButton("Score known bad parts...")
        self.bad_label = QLabel("")
        for label in (self.counter, self.legend, self.rate, self.bad_label):
            label.setWordWrap(True)
        self.save_button = QPushButton("Save recipe and switch the station to it")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b00020")
        self.error.setWordWrap(True)
        self.capture_button.clicked.connect(self.capture)
        self.folder_button.clicked.connect(self._pick_folder)
        self.train_button.clicked.connect(self.train)
        self.cancel_button.clicked.connect(self.cancel)
        self.slider.valueChanged.connect(self._threshold_moved)
        self.bad_button.clicked.connect(self._pick_bad_parts)
        self.save_button.clicked.connect(self.save)

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("1. Product name", self.name)
        parts = QHBoxLayout()
        for widget in (self.count, self.capture_button, self.folder_button):
            parts.addWidget(widget)
        form.addRow("2. Good parts", parts)
        form.addRow("", self.counter)
        training = QHBoxLayout()
        training.addWidget(self.train_button)
        training.addWidget(self.progress)
        training.addWidget(self.cancel_button)
        form.addRow("3. Train", training)
        form.addRow("", self.status)
        form.addRow("4. Threshold", self.histogram)
        form.addRow("", self.legend)
        form.addRow("", self.slider)
        form.addRow("", self.rate)
        form.addRow("", self.bad_button)
        form.addRow("", self.bad_label)
        form.addRow("5. Save", self.save_button)
        form.addRow("", self.error)
        side = QWidget()
        side.setLayout(form)
        side.setMinimumWidth(560)
        layout = QHBoxLayout(self)
        layout.addWidget(self.view, 1)
        column = QVBoxLayout()
        column.addWidget(side)
        layout.addLayout(column)
        self.resize(1200, 720)

    def _enable(self) -> None:
        training = self.process is not None
        self.capture_button.setEnabled(not training)
        self.folder_button.setEnabled(not training)
        self.train_button.setEnabled(not training and len(self.images) >= 10 and self.model is None)
        self.cancel_button.setEnabled(training)
        trained = self.model is not None
        for widget in (self.slider, self.bad_button, self.save_button):
            widget.setEnabled(trained and not training)

    def _new_plan(self) -> TeachPlan | None:
        try:
            product = self.name.text().strip()
            plan = TeachPlan.for_product(product, work=self.work_root / product, **self.options)
            plan.check_free()
        except StationError as exc:
            self.error.setText(str(exc))
            return None
        self.error.setText("")
        return plan

    def capture(self) -> None:
        """Grab the chosen number of good parts with the station's camera, in a thread (the window goes on)."""
        plan = self._new_plan()
        if plan is None:
            return
        self.plan, self.images = plan, []
        count = self.count.value()
        self.counter.setText(f"capturing 0/{count}...")
        self.capture_button.setEnabled(False)

        def run() -> None:
            try:
                camera = make_camera(self.config.camera)
                found = capture_good_parts(
                    camera, count, plan.good, lambda n, image: self._capture.shown.emit(n, image)
                )
                self._capture.done.emit(found)
            except Exception as exc:  # shown to the engineer: the camera's own words
                self._capture.done.emit(f"capture failed: {exc}")

        threading.Thread(target=run, name="teach-capture", daemon=True).start()

    def _captured_one(self, number: int, image: Image) -> None:
        self.counter.setText(f"captured {number}/{self.count.value()} good parts")
        self.view.show_part(image, [], None)

    def _capture_done(self, result: object) -> None:
        if isinstance(result, str):
            self.error.setText(result)
        else:
            self.images = list(result)  # type: ignore[call-overload]
            self.counter.setText(f"{len(self.images)} good parts in {self.plan.good if self.plan else ''}")
        self._enable()

    def _ask_folder(self, title: str) -> Path | None:
        chosen = QFileDialog.getExistingDirectory(self, title)
        return Path(chosen) if chosen else None

    def _pick_folder(self) -> None:
        if (folder := self._ask_folder("Folder of good parts")) is not None:
            self.use_folder(folder)

    def use_folder(self, folder: Path) -> None:
        plan = self._new_plan()
        if plan is None:
            return
        try:
            self.images = take_folder(folder, plan)
        except StationError as exc:
            self.error.setText(str(exc))
            return
        self.plan = plan
        self.counter.setText(f"{len(self.images)} good parts from {folder}")
        self.view.show_part(load_image(self.images[0]), [], None)
        self._enable()

    def train(self) -> None:
        """Train in a separate process (its progress lines drive the bar; Cancel kills it)."""
        if self.plan is None:
            return
        plan = self.plan
        process = QProcess(self)
        process.setProgram(sys.executable)
        process.setArguments([
            "-m", "inspection.cli.main", "train", "--task", "anomaly", "--data", str(plan.good),
            "--out", str(plan.work / "run"), "--imgsz", str(plan.imgsz),
            "--target-false-reject", str(plan.target_false_reject),
        ])  # fmt: skip
        process.setWorkingDirectory(str(PROJECT_ROOT))
        process.readyReadStandardError.connect(self._read_progress)
        process.finished.connect(self._trained)
        self.process = process
        self.progress.setValue(0)
        self.status.setText("training...")
        self._enable()
        process.start()

    def _read_progress(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardError().data()).decode(errors="replace")
        for line in text.splitlines():
            match = PROGRESS.match(line.strip())
            if match:
                low, high = STEP_SHARE[match.group(1)]
                done, total = int(match.group(2)), max(int(match.group(3)), 1)
                self.progress.setValue(int(low + (high - low) * done / total))
            if line.startswith("error:"):
                self.error.setText(line)

    def cancel(self) -> None:
        """Stop the training; its run is removed, the captured parts are kept for another try."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.waitForFinished(5000)
        if self.plan is not None:
            discard(self.plan, keep_images=True)
        self.status.setText("training cancelled; nothing was registered")
        self.progress.setValue(0)
        self._enable()

    def _trained(self, exit_code: int, _status: object) -> None:
        if self.process is None or self.plan is None:  # cancelled
            return
        self.process = None
        if exit_code != 0:
            self.status.setText(f"training failed (exit {exit_code}); see the message below")
            self._enable()
            return
        self.progress.setValue(100)
        self.model, self.section = register_product(self.plan, "taught at the cell (app)")
        self.histogram.good = list(self.section.get("held_out_good", {}).get("scores", []))
        self.status.setText(f"trained and registered as {self.model.name}; set the threshold, then save")
        self._threshold_moved(self.slider.value())
        self._enable()

    @property
    def threshold(self) -> float:
        return self.slider.value() / SLIDER_STEPS

    def _threshold_moved(self, _value: int) -> None:
        scores = self.histogram.good
        self.histogram.threshold = self.threshold
        self.histogram.update()
        rate = false_reject_at(scores, self.threshold)
        rejected = round(rate * len(scores))
        self.rate.setText(
            f"threshold {self.threshold:.2f}: {rate * 100:.1f}% false rejects on the {len(scores)} held-out good "
            f"parts ({rejected} of {len(scores)}); the model set 0.50 for "
            f"{self.section.get('target_false_reject', 0.01) * 100:.0f}%"
        )
        self._show_bad()

    def _pick_bad_parts(self) -> None:
        if (folder := self._ask_folder("Folder of known bad parts")) is not None:
            self.score_bad_parts(folder)

    def score_bad_parts(self, folder: Path) -> None:
        """Score up to MAX_BAD_PARTS known bad parts with the new model (quick: in this process)."""
        assert self.model is not None
        paths = list_images(folder)[:MAX_BAD_PARTS]
        detector = load_detector(self.model / "model.onnx", 0, "cpu", threads=1, expected_classes=None)
        try:
            self.histogram.bad = [float(detector.predict(load_image(p), 1.0).score or 0.0) for p in paths]
        finally:
            detector.close()
        self._show_bad()

    def _show_bad(self) -> None:
        bad = self.histogram.bad
        if bad:
            caught = sum(score >= self.threshold for score in bad)
            ordered = sorted(bad)
            self.bad_label.setText(
                f"known bad parts: {caught} of {len(bad)} would fail (scores from {ordered[0]:.2f}, median "
                f"{ordered[len(ordered) // 2]:.2f}, to {ordered[-1]:.2f})"
            )
        self.histogram.update()

    def save(self) -> None:
        """Write the recipe at the chosen threshold, switch the station to it, audit both."""
        if self.plan is None or self.model is None:
            return
        if not self.session.may("station"):
            self.session.audit("denied", {"action": "product_teach", "product": self.plan.product})
            self.error.setText("Only engineers and admins teach products.")
            return
        recipe = write_recipe(self.plan, self.model, self.threshold)
        before = switch_station_recipe(self.station_path, recipe)
        self.session.audit("product_teach", {
            "product": self.plan.product, "model": str(self.model), "recipe": str(recipe),
            "good_parts": len(self.images), "threshold": self.threshold,
            "held_out_false_reject": false_reject_at(self.histogram.good, self.threshold),
            "station": str(self.station_path), "recipe_before": before,
        })  # fmt: skip
        self.saved = recipe
        self.accept()

    def reject(self) -> None:
        if self.process is not None:
            self.cancel()
        super().reject()
