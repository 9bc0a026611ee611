"""The live image with detection boxes, labels and the recipe's ROI drawn over it (and an anomaly model's
score map, where the part has one)."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from inspection.core.types import Detection, Image

COUNTED = QColor(230, 40, 40)  # boxes that made the part fail
IGNORED = QColor(240, 180, 0)  # near misses: below the rules' thresholds or outside the ROI
ROI = QColor(60, 160, 255)
HIGHLIGHT = QColor(0, 230, 255)  # the box chosen in a list (review)
MAX_ZOOM = 16.0


def to_qimage(image: Image) -> QImage:
    """A QImage that owns a copy of the pixels (grey or BGR uint8)."""
    if image.ndim == 2:
        height, width = image.shape
        return QImage(np.ascontiguousarray(image).data, width, height, width, QImage.Format.Format_Grayscale8).copy()
    height, width = image.shape[:2]
    rgb = np.ascontiguousarray(image[:, :, 2::-1])
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


SHOWN_FROM = 0.25  # score map: lower scores stay clear; from here it is tinted, opaque at the threshold
MAP_OPACITY = 0.55


def with_score_map(image: Image, score_map: npt.NDArray[np.float32]) -> Image:
    """``image`` (BGR) with the score map over it: clear below ``SHOWN_FROM``, a heat colour (blue -> red
    at score 1) increasingly opaque up to the threshold 0.5."""
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image[:, :, :3]
    height, width = bgr.shape[:2]
    full = cv2.resize(np.clip(score_map, 0.0, 1.0), (width, height), interpolation=cv2.INTER_LINEAR)
    colours = cv2.applyColorMap((full * 255).astype(np.uint8), cv2.COLORMAP_JET).astype(np.float32)
    alpha = (np.clip((full - SHOWN_FROM) / (0.5 - SHOWN_FROM), 0.0, 1.0) * MAP_OPACITY)[..., None]
    blended = bgr.astype(np.float32) * (1 - alpha) + colours * alpha
    return np.asarray(blended.round(), dtype=np.uint8)


def box_caption(detection: Detection) -> str:
    """``open 0.97``; a box a person drew (confidence below 0) has no confidence: ``open (reviewer)``."""
    if detection.confidence < 0:
        return f"{detection.label} (reviewer)"
    return f"{detection.label} {detection.confidence:.2f}"


# A caption is a tag in its box's colour with the text in black or white, whichever reads on it: legible on
# white board and black copper alike.
DARK_TEXT, LIGHT_TEXT = QColor(0, 0, 0), QColor(255, 255, 255)


def text_colour_on(ground: QColor) -> QColor:
    """Black on a light ground (its luma above half), else white: orange and cyan tags black, red white."""
    luma = 0.2126 * ground.redF() + 0.7152 * ground.greenF() + 0.0722 * ground.blueF()
    return DARK_TEXT if luma > 0.5 else LIGHT_TEXT


def place_labels(wanted: list[QRectF], bounds: QRectF) -> list[QRectF]:
    """Where each caption goes: at its wanted place (under its box), else moved down, a line at a time, past
    the captions placed before it (else up, when that leaves ``bounds``), so no two overlap: two boxes
    around one region (two classes of one defect) would otherwise print their captions over each other."""
    placed: list[QRectF] = []

    def clashes(rect: QRectF) -> bool:
        return any(rect.intersects(other) for other in placed)

    for rect in wanted:
        step = rect.height() + 1
        for move in (step, -step):  # down, then up
            moved = QRectF(rect)
            while clashes(moved) and _has_room(moved, move, bounds):
                moved.translate(0, move)
            if not clashes(moved):
                break
        placed.append(moved)
    return placed


def _has_room(rect: QRectF, move: float, bounds: QRectF) -> bool:
    """Whether ``rect`` moved down (``move`` > 0) or up by ``move`` stays inside ``bounds`` on that side."""
    return rect.bottom() + move <= bounds.bottom() if move > 0 else rect.top() + move >= bounds.top()


class ImageView(QWidget):
    box_drawn = Signal(float, float, float, float)  # x1, y1, x2, y2 in image pixels (drawing mode)

    def __init__(self) -> None:
        super().__init__()
        self.drawing = False  # when True, a mouse drag draws a box
        self._geometry = (1.0, 0.0, 0.0)  # scale, left, top of the drawn image
        self._drag: tuple[QPointF, QPointF] | None = None
        self.setMinimumSize(320, 320)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._boxes: list[tuple[Detection, bool]] = []
        self._roi: tuple[float, float, float, float] | None = None
        self.stale_note = ""  # not "": the image is no longer live (a stop, a fault); said over it, dimmed
        self.highlighted: int | None = None  # index into the boxes drawn thicker, in HIGHLIGHT
        self.label_rects: dict[int, QRectF] = {}  # where each box's caption was last drawn (widget pixels)
        self.zoom = 1.0  # 1 = the whole image fits; the wheel zooms around the pointer
        self._centre = (0.5, 0.5)  # the image point (as fractions) at the middle of the view when zoomed

    def highlight(self, index: int | None) -> None:
        self.highlighted = index
        self.update()

    def set_zoom(self, zoom: float, around: tuple[float, float] | None = None) -> None:
        """Zoom to ``zoom`` (1 = fit) keeping image point ``around`` (pixels) where it is on screen."""
        if self._image is None:
            return
        zoom = min(max(zoom, 1.0), MAX_ZOOM)
        if around is not None and zoom > 1.0:
            (scale, left, top), width, height = self._geometry, self._image.width(), self._image.height()
            on_screen = (left + around[0] * scale, top + around[1] * scale)
            fit = min(self.width() / width, self.height() / height)
            new_scale = fit * zoom
            centre_x = around[0] + (self.width() / 2 - on_screen[0]) / new_scale
            centre_y = around[1] + (self.height() / 2 - on_screen[1]) / new_scale
            self._centre = (centre_x / width, centre_y / height)
        if zoom == 1.0:
            self._centre = (0.5, 0.5)
        self.zoom = zoom
        self.update()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * 1.25**steps, self.to_image(event.position()))

    def set_stale(self, note: str) -> None:
        if note != self.stale_note:
            self.stale_note = note
            self.update()

    def show_part(
        self,
        image: Image,
        detections: list[tuple[Detection, bool]],
        roi: tuple[float, float, float, float] | None,
        score_map: npt.NDArray[np.float32] | None = None,
    ) -> None:
        """Show one part: ``detections`` pairs each box with whether it counted towards the verdict;
        ``score_map``: an anomaly model's, drawn over the image."""
        self._image = to_qimage(image if score_map is None else with_score_map(image, score_map))
        self.stale_note = ""
        self._boxes = detections
        self._roi = roi
        self.update()

    def set_boxes(self, detections: list[tuple[Detection, bool]]) -> None:
        """Redraw the same image with other boxes (e.g. a reviewer's corrections)."""
        self._boxes = detections
        self.update()

    @property
    def boxes(self) -> list[tuple[Detection, bool]]:
        return list(self._boxes)

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 20, 20))
        if self._image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no image yet")
            return
        scale = min(self.width() / self._image.width(), self.height() / self._image.height()) * self.zoom
        width, height = self._image.width() * scale, self._image.height() * scale
        left, top = (self.width() - width) / 2, (self.height() - height) / 2
        if self.zoom > 1.0:  # the chosen image point in the middle
            left = self.width() / 2 - self._centre[0] * width
            top = self.height() / 2 - self._centre[1] * height
        painter.drawImage(QRectF(left, top, width, height), self._image)
        self._geometry = (scale, left, top)

        def rect(box: tuple[float, float, float, float]) -> QRectF:
            x1, y1, x2, y2 = box
            return QRectF(left + x1 * scale, top + y1 * scale, (x2 - x1) * scale, (y2 - y1) * scale)

        if self._roi is not None:
            painter.setPen(QPen(ROI, 2, Qt.PenStyle.DashLine))
            painter.drawRect(rect(self._roi))
        for index, (detection, counted) in enumerate(self._boxes):
            painter.setPen(QPen(self._colour(index, counted), 5 if index == self.highlighted else 3 if counted else 1))
            painter.drawRect(rect(detection.box))
        self._draw_captions(painter, rect)
        if self._drag is not None:
            painter.setPen(QPen(ROI, 2))
            painter.drawRect(QRectF(self._drag[0], self._drag[1]).normalized())
        if self.stale_note:
            self._draw_stale(painter)

    def _colour(self, index: int, counted: bool) -> QColor:
        return HIGHLIGHT if index == self.highlighted else COUNTED if counted else IGNORED

    def _draw_captions(self, painter: QPainter, rect: Callable[[tuple[float, float, float, float]], QRectF]) -> None:
        """Each box's caption under it, a tag in its colour; the chosen box's and those that failed the part
        are placed first."""
        font = QFont()
        font.setPointSize(10)
        font.setBold(True)
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        order = sorted(range(len(self._boxes)), key=lambda i: (i != self.highlighted, not self._boxes[i][1]))
        texts = {index: box_caption(self._boxes[index][0]) for index in order}
        wanted = []
        for index in order:
            corner = rect(self._boxes[index][0].box).bottomLeft()
            width = metrics.horizontalAdvance(texts[index]) + 4
            wanted.append(QRectF(corner.x(), corner.y() + 1, width, metrics.height()))
        self.label_rects = dict(zip(order, place_labels(wanted, QRectF(self.rect())), strict=True))
        for index, area in self.label_rects.items():
            ground = self._colour(index, self._boxes[index][1])
            painter.fillRect(area, ground)
            painter.setPen(text_colour_on(ground))
            painter.drawText(area.adjusted(2, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, texts[index])

    def _draw_stale(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), QColor(40, 40, 40, 170))
        font = QFont()
        font.setPointSize(20)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.stale_note)

    def to_image(self, point: QPointF) -> tuple[float, float]:
        """Widget coordinates -> image pixels."""
        scale, left, top = self._geometry
        return (point.x() - left) / scale, (point.y() - top) / scale

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.drawing and self._image is not None:
            self._drag = (event.position(), event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self._drag = (self._drag[0], event.position())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is None or self._image is None:
            return
        (x1, y1), (x2, y2) = self.to_image(self._drag[0]), self.to_image(event.position())
        self._drag = None
        self.update()
        width, height = self._image.width(), self._image.height()
        x1, x2 = sorted((min(max(x1, 0.0), width), min(max(x2, 0.0), width)))
        y1, y2 = sorted((min(max(y1, 0.0), height), min(max(y2, 0.0), height)))
        if x2 - x1 >= 2 and y2 - y1 >= 2:
            self.box_drawn.emit(x1, y1, x2, y2)
