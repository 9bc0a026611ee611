"""Evaluation metrics, export parity and reference matching on hand-made cases with known answers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import SAMPLE_IMAGES

from inspection.core.types import Detection, Verdict
from inspection.detectors.reference import References
from inspection.ml.evaluation.metrics import Evaluation, ImageResult, correct_matrix, protocol_counts
from inspection.ml.evaluation.parity import SCORE_TIE, ParityReport, compare_image, verdicts_differ

CLASSES = ["open", "short"]


def det(cls: int, conf: float, box: tuple[float, float, float, float]) -> Detection:
    return Detection(CLASSES[cls], cls, conf, box)


def test_greedy_matching_by_confidence_and_class() -> None:
    truth = [(0, (0.0, 0.0, 10.0, 10.0))]
    detections = [det(0, 0.6, (0, 0, 10, 10)), det(0, 0.9, (0, 0, 10, 8)), det(1, 0.95, (0, 0, 10, 10))]
    correct = correct_matrix(truth, detections)
    # Per IoU threshold, the most confident same-class box that overlaps enough claims the ground truth:
    # the 0.9 box (IoU 0.8) up to 0.8, the exact 0.6 box at 0.85-0.95, where the truth is still unclaimed.
    assert correct[1].tolist() == [True] * 7 + [False] * 3
    assert correct[0].tolist() == [False] * 7 + [True] * 3
    assert not correct[2].any()  # wrong class


def test_deeppcb_protocol_counts_iou_above_a_third() -> None:
    truth = [(0, (0.0, 0.0, 10.0, 10.0)), (1, (50.0, 50.0, 60.0, 60.0))]
    kept = [det(0, 0.9, (0, 0, 10, 4)), det(1, 0.8, (100, 100, 110, 110))]  # IoU 0.4: right; far away: wrong
    counts = protocol_counts(truth, kept, 2)
    assert counts.tolist() == [[1, 0, 0], [0, 1, 1]]


def test_summary_escapes_false_rejects_and_perfect_map() -> None:
    box = (10.0, 10.0, 30.0, 30.0)
    evaluation = Evaluation(CLASSES)
    evaluation.results += [
        ImageResult("a_test", [(0, box)], [det(0, 0.9, box)], [det(0, 0.9, box)], Verdict.FAIL, 0.010),
        ImageResult("b_test", [(1, box)], [det(1, 0.9, box)], [], Verdict.PASS, 0.020),  # an escape
        ImageResult("a_temp", [], [], [], Verdict.PASS, 0.010),
        ImageResult("b_temp", [], [det(1, 0.7, box)], [det(1, 0.7, box)], Verdict.FAIL, 0.010),  # a false reject
    ]
    summary = evaluation.summary()
    assert summary["escape_rate"] == 0.5 and summary["escapes"] == ["b_test"]
    assert summary["false_reject_rate"] == 0.5 and summary["false_rejects"] == ["b_temp"]
    assert summary["per_class"]["open"]["ap50"] == pytest.approx(0.995, abs=0.01)
    assert summary["deeppcb_protocol"]["tp"] == 1 and summary["deeppcb_protocol"]["fn"] == 1
    assert summary["latency_ms"]["mean"] == pytest.approx(12.5)


def test_parity_flags_a_confidence_gap_a_missing_box_and_a_verdict_change() -> None:
    box = (0.0, 0.0, 20.0, 20.0)
    report = ParityReport()
    compare_image("same", [det(0, 0.8, box)], [det(0, 0.81, box)], 0.25, 0.5, report)
    assert report.ok
    compare_image("gap", [det(0, 0.8, box)], [det(0, 0.75, box)], 0.25, 0.5, report)
    compare_image("gone", [det(0, 0.45, box)], [], 0.25, 0.5, report)
    compare_image("verdict", [det(0, 0.51, box)], [det(0, 0.495, box)], 0.25, 0.5, report)
    assert not report.ok
    text = "\n".join(report.mismatches)
    assert "gap: open confidence 0.800 vs 0.750" in text
    assert "gone: open 0.450" in text and "no partner in the export" in text
    assert "verdict: verdict FAIL with the source weights, PASS with the export" in text


def test_each_board_finds_its_own_template_among_the_references() -> None:
    templates = sorted(SAMPLE_IMAGES.glob("*_temp.jpg"))
    references = References.load(SAMPLE_IMAGES / "*_temp.jpg")
    for test in sorted(SAMPLE_IMAGES.glob("*_test.jpg")):
        image = cv2.imread(str(test))
        chosen = references.names[references.nearest(image)]
        assert chosen == test.name.replace("_test", "_temp")
        index, stacked = references.stack(image)
        assert index == references.nearest(image)
        assert stacked.shape == (*image.shape[:2], 3)
        assert np.array_equal(stacked[:, :, 2], cv2.absdiff(stacked[:, :, 0], stacked[:, :, 1]))
    assert len(references.names) == len(templates)


def test_a_score_at_the_threshold_rounded_either_way_is_a_tie_not_a_verdict_change() -> None:
    assert verdicts_differ(0.49, 0.51) and verdicts_differ(0.5, 0.4) and verdicts_differ(0.5, 0.5 - 2 * SCORE_TIE)
    assert not verdicts_differ(0.5, 0.5 - SCORE_TIE / 2)  # the held-out part that set the threshold, rounded
    assert not verdicts_differ(0.3, 0.3001) and not verdicts_differ(0.7, 0.9)
