"""Accuracy of a detector on labelled images.

- mAP@0.5 and mAP@0.5:0.95 with ultralytics' ``ap_per_class`` (the implementation behind its own
  validation), on detections down to confidence 0.001, matched greedily by confidence at each IoU.
- The DeepPCB protocol at the recipe's operating point: a kept detection is right when its IoU with a
  ground-truth box of the same class is above 0.33 (one detection per box); also class-agnostic (any
  class), which measures localisation alone.
- Image level, with the recipe's rules: escapes (a defective image judged PASS) and false rejects
  (a defect-free image judged FAIL).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from inspection.core.boxes import Box, iou_matrix
from inspection.core.types import Detection, Verdict

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
DEEPPCB_IOU = 0.33


@dataclass(frozen=True)
class ImageResult:
    name: str
    truth: list[tuple[int, Box]]
    detections: list[Detection]  # everything the detector reported (confidence >= 0.001)
    kept: list[Detection]  # those the recipe's rules count
    verdict: Verdict
    latency_s: float


def correct_matrix(truth: list[tuple[int, Box]], detections: list[Detection]) -> np.ndarray:
    """``(detections, 10)`` booleans: detection j is a true positive at IoU threshold t.

    Detections are taken in descending confidence; each claims the unclaimed same-class box it
    overlaps most, per threshold (the matching of the COCO and ultralytics evaluators).
    """
    order = sorted(range(len(detections)), key=lambda j: -detections[j].confidence)
    correct = np.zeros((len(detections), len(IOU_THRESHOLDS)), dtype=bool)
    if not truth or not detections:
        return correct
    ious = iou_matrix([box for _, box in truth], [detections[j].box for j in order])
    same_class = np.array([[cls == detections[j].class_id for j in order] for cls, _ in truth])
    ious = ious * same_class
    claimed = np.zeros((len(truth), len(IOU_THRESHOLDS)), dtype=bool)
    for column, j in enumerate(order):
        available = np.where(claimed, 0.0, ious[:, column, None])
        best = available.argmax(0)
        hit = available[best, range(len(IOU_THRESHOLDS))] >= IOU_THRESHOLDS
        correct[j] = hit
        claimed[best, range(len(IOU_THRESHOLDS))] |= hit
    return correct


def protocol_counts(truth: list[tuple[int, Box]], kept: list[Detection], n_classes: int) -> np.ndarray:
    """Per class ``[tp, fp, fn]`` at IoU > 0.33, one detection per ground-truth box."""
    counts = np.zeros((n_classes, 3), dtype=np.int64)
    order = sorted(kept, key=lambda d: -d.confidence)
    ious = iou_matrix([box for _, box in truth], [d.box for d in order])
    claimed = [False] * len(truth)
    for column, detection in enumerate(order):
        candidates = [
            i
            for i, (cls, _) in enumerate(truth)
            if cls == detection.class_id and not claimed[i] and ious[i, column] > DEEPPCB_IOU
        ]
        if candidates:
            claimed[max(candidates, key=lambda i: ious[i, column])] = True
            counts[detection.class_id, 0] += 1
        else:
            counts[detection.class_id, 1] += 1
    for i, (cls, _) in enumerate(truth):
        if not claimed[i]:
            counts[cls, 2] += 1
    return counts


@dataclass
class Evaluation:
    classes: list[str]
    results: list[ImageResult] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        n = len(self.classes)
        ap, target_cls = self._average_precision()
        protocol = np.zeros((n, 3), dtype=np.int64)
        agnostic = np.zeros((1, 3), dtype=np.int64)
        for result in self.results:
            protocol += protocol_counts(result.truth, result.kept, n)
            agnostic += protocol_counts(
                [(0, box) for _, box in result.truth], [replace(d, class_id=0) for d in result.kept], 1
            )
        present = sorted(set(target_cls))
        per_class = {
            name: {
                "boxes": target_cls.count(cls),
                "ap50": round(float(ap[cls, 0]), 4),
                "ap50_95": round(float(ap[cls].mean()), 4),
                **_prf(protocol[cls]),
            }
            for cls, name in enumerate(self.classes)
        }
        return {
            "images": len(self.results),
            **self._image_level(),
            "boxes": len(target_cls),
            "map50": round(float(ap[present, 0].mean()), 4) if present else 0.0,
            "map50_95": round(float(ap[present].mean()), 4) if present else 0.0,
            "deeppcb_protocol": {
                "iou_above": DEEPPCB_IOU,
                **_prf(protocol.sum(0)),
                "class_agnostic": _prf(agnostic[0]),
            },
            **self._verdict_rates(),
            "latency_ms": self._latency(),
            "per_class": per_class,
        }

    def _average_precision(self) -> tuple[np.ndarray, list[int]]:
        """AP per class at each IoU threshold (ultralytics' interpolation), and the class of every true box."""
        from ultralytics.utils.metrics import ap_per_class  # noqa: PLC0415  (heavy SDK: pulls in torch)

        tp_rows: list[np.ndarray] = []
        conf: list[float] = []
        pred_cls: list[int] = []
        target_cls: list[int] = []
        for result in self.results:
            tp_rows.append(correct_matrix(result.truth, result.detections))
            conf.extend(d.confidence for d in result.detections)
            pred_cls.extend(d.class_id for d in result.detections)
            target_cls.extend(cls for cls, _ in result.truth)
        tp = np.concatenate(tp_rows) if tp_rows else np.zeros((0, len(IOU_THRESHOLDS)), dtype=bool)
        ap = np.zeros((len(self.classes), len(IOU_THRESHOLDS)))
        if target_cls:
            output = ap_per_class(tp, np.asarray(conf), np.asarray(pred_cls), np.asarray(target_cls))
            for row, cls in zip(output[5], output[6], strict=True):
                ap[int(cls)] = row
        return ap, target_cls

    def _image_level(self) -> dict[str, int]:
        defective = sum(1 for r in self.results if r.truth)
        return {"defective_images": defective, "defect_free_images": len(self.results) - defective}

    def _verdict_rates(self) -> dict[str, Any]:
        defective = [r for r in self.results if r.truth]
        clean = [r for r in self.results if not r.truth]
        escapes = [r.name for r in defective if r.verdict == Verdict.PASS]
        false_rejects = [r.name for r in clean if r.verdict == Verdict.FAIL]
        return {
            "escape_rate": round(len(escapes) / len(defective), 4) if defective else None,
            "false_reject_rate": round(len(false_rejects) / len(clean), 4) if clean else None,
            "escapes": escapes,
            "false_rejects": false_rejects,
        }

    def _latency(self) -> dict[str, float]:
        latencies = np.asarray([r.latency_s for r in self.results]) * 1000
        return {
            "mean": round(float(latencies.mean()), 2),
            "p50": round(float(np.percentile(latencies, 50)), 2),
            "p95": round(float(np.percentile(latencies, 95)), 2),
        }


def _prf(counts: np.ndarray) -> dict[str, Any]:
    tp, fp, fn = (int(v) for v in counts)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f_score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f_score": round(f_score, 4),
    }
