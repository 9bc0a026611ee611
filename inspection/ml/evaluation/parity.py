"""Parity of an exported model with its source weights: same verdicts, matched boxes."""

from __future__ import annotations

from dataclasses import dataclass, field

from inspection.core.boxes import iou_matrix
from inspection.core.types import Detection

MIN_IOU = 0.9
MAX_CONFIDENCE_GAP = 0.02
SCORE_TIE = 1e-4  # two scores of a part both this close to the threshold: a tie that float rounding decides


def verdicts_differ(first: float, second: float, threshold: float = 0.5) -> bool:
    """Whether two scores of the same part give it different verdicts. Scores on both sides of the threshold but
    both within ``SCORE_TIE`` of it are a tie, not two verdicts: an anomaly model's threshold is set on held-out
    good parts, one of which scores exactly at it, and two backends' rounding may put it either side."""
    apart = max(abs(first - threshold), abs(second - threshold)) > SCORE_TIE
    return (first >= threshold) != (second >= threshold) and apart


@dataclass
class ParityReport:
    images: int = 0
    boxes: int = 0
    mismatches: list[str] = field(default_factory=list)
    worst_iou: float = 1.0
    worst_confidence_gap: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def as_dict(self) -> dict[str, object]:
        return {
            "images": self.images,
            "boxes": self.boxes,
            "identical_verdicts_and_boxes": self.ok,
            "worst_iou": round(self.worst_iou, 4),
            "worst_confidence_gap": round(self.worst_confidence_gap, 4),
            "criteria": f"same verdict; boxes matched with IoU >= {MIN_IOU}, confidence within {MAX_CONFIDENCE_GAP}",
        }


def compare_image(
    name: str, source: list[Detection], exported: list[Detection], floor: float, threshold: float, report: ParityReport
) -> None:
    """Match the boxes of one image; note every mismatch in ``report``.

    Boxes at or above ``floor`` are compared; a box within the confidence tolerance of the floor may
    lack a partner on the other side. ``threshold`` gives the verdict (any box at or above it fails).
    """
    report.images += 1
    verdict_source = any(d.confidence >= threshold for d in source)
    verdict_export = any(d.confidence >= threshold for d in exported)
    if verdict_source != verdict_export:
        report.mismatches.append(
            f"{name}: verdict {'FAIL' if verdict_source else 'PASS'} with the source weights, "
            f"{'FAIL' if verdict_export else 'PASS'} with the export"
        )
    for this, other, side in ((source, exported, "export"), (exported, source, "source weights")):
        kept = [d for d in this if d.confidence >= floor]
        candidates = [d for d in other if d.confidence >= floor - MAX_CONFIDENCE_GAP]
        if side == "export":
            report.boxes += len(kept)
        ious = iou_matrix([d.box for d in kept], [d.box for d in candidates])
        for i, detection in enumerate(kept):
            same_class = [j for j, d in enumerate(candidates) if d.label == detection.label]
            best = max(same_class, key=lambda j: ious[i, j], default=None)
            best_iou = float(ious[i, best]) if best is not None else 0.0
            if best is None or best_iou < MIN_IOU:
                if detection.confidence < floor + MAX_CONFIDENCE_GAP:
                    continue  # on the edge of the floor: its partner may just be below it
                report.mismatches.append(
                    f"{name}: {detection.label} {detection.confidence:.3f} at "
                    f"{[round(v) for v in detection.box]} has no partner in the {side} (best IoU {best_iou:.2f})"
                )
                report.worst_iou = min(report.worst_iou, best_iou)
                continue
            gap = abs(candidates[best].confidence - detection.confidence)
            report.worst_iou = min(report.worst_iou, best_iou)
            report.worst_confidence_gap = max(report.worst_confidence_gap, gap)
            if gap > MAX_CONFIDENCE_GAP:
                report.mismatches.append(
                    f"{name}: {detection.label} confidence {detection.confidence:.3f} vs "
                    f"{candidates[best].confidence:.3f} in the {side} (more than {MAX_CONFIDENCE_GAP} apart)"
                )
