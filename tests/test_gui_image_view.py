"""The live image's captions stay legible: two boxes around one region (two classes of one defect, as the
default model reports them) must not print their captions over each other."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QRectF

from gui.widgets.image_view import COUNTED, IGNORED, ImageView, place_labels, text_colour_on
from inspection.core.types import Detection


def test_captions_wanted_at_one_place_are_stacked_the_first_where_it_wanted() -> None:
    bounds = QRectF(0, 0, 200, 200)
    wanted = [QRectF(10, 50, 60, 14) for _ in range(3)] + [QRectF(10, 180, 60, 14), QRectF(10, 182, 60, 14)]
    placed = place_labels(wanted, bounds)
    assert placed[0] == wanted[0]
    for first, second in itertools.combinations(placed, 2):
        assert not first.intersects(second)
    assert all(bounds.contains(rect) for rect in placed)  # the last one, with no room below, went up


def test_a_region_named_twice_shows_both_captions_apart_the_failing_one_under_its_box(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(640, 640)
    board = np.full((640, 640), 255, np.uint8)
    box = (300.0, 200.0, 340.0, 240.0)
    detections = [
        (Detection("short", 1, 0.48, box), False),  # a near miss, listed first
        (Detection("spur", 3, 0.57, box), True),  # made the part fail
        (Detection("open", 0, 0.99, (10.0, 10.0, 40.0, 40.0)), True),
    ]
    view.show_part(board, detections, None)
    shot = view.grab().toImage()  # paints
    rects = view.label_rects
    assert sorted(rects) == [0, 1, 2]
    for first, second in itertools.combinations(rects.values(), 2):
        assert not first.intersects(second)
    assert rects[1].top() < rects[0].top()  # the failing caption right under the box, the near miss below it
    assert abs(rects[1].top() - (240 + 1)) < 1
    # each caption a tag in its box's colour (the board under it is white), its text in the colour that reads
    for index, colour in ((0, IGNORED), (1, COUNTED)):
        edge = shot.pixelColor(int(rects[index].right()) - 1, int(rects[index].center().y()))
        assert (edge.red(), edge.green(), edge.blue()) == (colour.red(), colour.green(), colour.blue())
    assert text_colour_on(IGNORED).lightness() == 0 and text_colour_on(COUNTED).lightness() == 255
