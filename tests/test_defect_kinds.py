"""The golden-template detector's naming of a difference by its topology, on drawn conductors: both
versions of the rules, the cases where version 2 names differently, and a settings file that asks for
rules the station does not know."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SAMPLE_IMAGES

from calibration.defect_kinds import classify
from calibration.golden import GoldenTemplate, Region
from inspection.core.errors import ModelError
from inspection.detectors import load_detector

SIZE = 80


def board(*tracks: tuple[int, int, int, int]) -> np.ndarray:
    """A foreground mask with filled rectangles (x1, y1, x2, y2) of copper."""
    mask = np.zeros((SIZE, SIZE), bool)
    for x1, y1, x2, y2 in tracks:
        mask[y1:y2, x1:x2] = True
    return mask


def named(good: np.ndarray, seen: np.ndarray, rules: int) -> str:
    """The kind of the one difference between ``good`` and ``seen``, as the detector finds it."""
    extra, missing = seen & ~good, good & ~seen
    polarity = "extra" if extra.sum() > missing.sum() else "missing"
    ys, xs = np.nonzero(extra if polarity == "extra" else missing)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return classify(Region(box, len(xs), polarity), seen, good, rules)


WIDE = board((10, 10, 70, 70))  # a large copper area
TRACK = board((0, 35, SIZE, 45))  # a 10 px track across the window
TWO_TRACKS = board((0, 20, SIZE, 28), (0, 40, SIZE, 48))


def with_void(good: np.ndarray, draw: object) -> np.ndarray:
    pixels = good.astype(np.uint8) * 255
    draw(pixels)  # type: ignore[operator]
    return pixels > 0


@pytest.mark.parametrize("rules", [1, 2])
def test_kinds_both_rule_versions_agree_on(rules: int) -> None:
    cut = TRACK.copy()
    cut[35:45, 38:43] = False
    assert named(TRACK, cut, rules) == "open"
    corner = with_void(WIDE, lambda p: cv2.line(p, (10, 30), (30, 10), 0, 2))  # a pad's corner cut off
    assert named(WIDE, corner, rules) == "open"
    hole = with_void(WIDE, lambda p: cv2.circle(p, (40, 40), 4, 0, -1))
    assert named(WIDE, hole, rules) == "pin-hole"
    bite = TRACK.copy()
    bite[35:39, 30:38] = False  # out of the track's edge
    assert named(TRACK, bite, rules) == "mousebite"
    bridge = TWO_TRACKS.copy()
    bridge[28:40, 38:42] = True
    assert named(TWO_TRACKS, bridge, rules) == "short"
    blob = TWO_TRACKS.copy()
    blob[60:68, 30:38] = True
    assert named(TWO_TRACKS, blob, rules) == "copper"
    spur = TWO_TRACKS.copy()
    spur[48:56, 30:34] = True
    assert named(TWO_TRACKS, spur, rules) == "spur"


def test_a_ring_shaped_void_cuts_off_an_island_not_a_conductor() -> None:
    """A void drawn as a ring inside copper leaves an island: version 1 counts it as a second piece (an
    open); version 2 counts only pieces that leave the window, and calls the enclosed void a pin-hole."""
    ring = with_void(WIDE, lambda p: cv2.circle(p, (40, 40), 6, 0, 2))
    assert named(WIDE, ring, 1) == "open"
    assert named(WIDE, ring, 2) == "pin-hole"


def test_a_void_one_pixel_inside_the_edge_is_a_bite() -> None:
    """Binarisation leaves a 1 px sliver of copper between the void and the track's edge: version 1 sees an
    enclosed hole (pin-hole), version 2 a bite out of the edge."""
    near = TRACK.copy()
    near[36:40, 30:38] = False  # row 35 (the edge) still copper
    assert named(TRACK, near, 1) == "pin-hole"
    assert named(TRACK, near, 2) == "mousebite"


def test_unknown_rules_are_refused_with_what_the_station_knows(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"naming rules 3 unknown: this station knows \[1, 2\]"):
        named(TRACK, TRACK & ~board((38, 35, 43, 45)), 3)
    settings = tmp_path / "detector.yaml"
    settings.write_text("detector: golden-template\nnaming_rules: 3\n")
    with pytest.raises(ModelError, match="naming rules 3 unknown"):
        load_detector(settings, 0, reference=SAMPLE_IMAGES / "*_temp.jpg")


def test_the_detector_names_with_the_rules_its_settings_give(tmp_path: Path) -> None:
    """The same part through the detector with version 1 and version 2 settings (the ring of the test above,
    drawn into a real sample template)."""
    template_path = sorted(SAMPLE_IMAGES.glob("*_temp.jpg"))[0]
    template = cv2.imread(str(template_path), cv2.IMREAD_GRAYSCALE)
    copper = cv2.erode((template < 128).astype(np.uint8), np.ones((25, 25), np.uint8))
    ys, xs = np.nonzero(copper)
    assert len(ys), "the sample template has no wide copper area"
    part = template.copy()
    cv2.circle(part, (int(xs[len(xs) // 2]), int(ys[len(ys) // 2])), 6, 255, 2)
    names = {}
    for rules in (1, 2):
        settings = tmp_path / f"rules{rules}.yaml"
        settings.write_text(f"detector: golden-template\nmin_area_px: 12\nnaming_rules: {rules}\n")
        detector = load_detector(settings, 0, reference=template_path)
        names[rules] = [d.label for d in detector.predict(part, 0.0).detections]
    assert names == {1: ["open"], 2: ["pin-hole"]}
    assert GoldenTemplate.from_image(template).compare(template).regions == []
