"""One inspected part: the stored image with its boxes, the reasons, latencies and traceability fields."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PySide6.QtWidgets import QDialog, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gui.review_panel import ReviewPanel
from gui.session import Session
from gui.timefmt import local_time
from gui.widgets.image_view import ImageView
from inspection.core.sizes import describe_size
from inspection.core.types import Detection, Image, InspectionRecord
from inspection.recorder.queries import RecordDetail
from inspection.recorder.score_maps import decode_score_map

FIELDS = (
    ("id", "Record"),
    ("created_at", "Time"),
    ("station", "Station"),
    ("camera", "Camera"),
    ("recipe", "Recipe"),
    ("model", "Model"),
    ("part_serial", "Part serial"),
    ("verdict", "Verdict"),
    ("reasons", "Reasons"),
    ("defects", "Defects"),
    ("latency", "Latency (ms)"),
    ("source_name", "Source"),
    ("reference_name", "Reference"),
    ("anomaly_score", "Anomaly score (0.5 = threshold)"),
    ("image_path", "Image"),
)


VALUE_WIDTH = 300  # px: the side column's 520 less the field names


def breakable_path(text: str) -> str:
    """A path a wrapped label may break after each ``/`` and ``_`` (a zero-width space there): a long image path
    ran past the edge of the record detail, having no other break point."""
    return text.replace("/", "/\u200b").replace("_", "_\u200b")


class RecordDetailDialog(QDialog):
    def __init__(
        self,
        fields: dict[str, Any],
        boxes: list[tuple[Detection, bool]],
        image: Image | None,
        parent: QWidget | None = None,
        session: Session | None = None,
        classes: list[str] | None = None,
        score_map: npt.NDArray[np.float32] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Part {fields.get('id', '')}")
        mm_per_px = fields.get("mm_per_px")
        fields = {
            **fields,
            "defects": [
                f"{d.label} {describe_size(d, mm_per_px)} ({d.confidence:.2f})" for d, counted in boxes if counted
            ],
        }
        self.fields = fields
        view = ImageView()
        if image is not None:
            view.show_part(image, boxes, None, score_map)
        form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for key, title in FIELDS:
            value = fields.get(key)
            text = "; ".join(value) if isinstance(value, list) else ("—" if value in (None, "") else str(value))
            label = QLabel(breakable_path(text) if key == "image_path" else text)
            label.setWordWrap(True)
            # A fixed width lets the form give a wrapped value every line it needs (with a free width it
            # measured a long one, a part's eight defects, at too few lines and cut it off).
            label.setFixedWidth(VALUE_WIDTH)
            if key == "image_path":
                label.setToolTip(text)  # the path as it is (the shown one has break points after / and _)
            self.values[key] = label
            form.addRow(title, label)
        self.review: ReviewPanel | None = None
        side = QWidget()
        column = QVBoxLayout(side)
        column.addLayout(form)
        if session is not None and session.may("review") and fields.get("id"):
            counted = [d for d, did_count in boxes if did_count]
            self.review = ReviewPanel(session, str(fields["id"]), counted, classes or [], view, mm_per_px)
            column.addWidget(self.review)
        side.setFixedWidth(520)
        layout = QHBoxLayout(self)
        layout.addWidget(view, 1)
        layout.addWidget(side)
        self.resize(1100, 700)

    @classmethod
    def from_database(
        cls,
        detail: RecordDetail,
        parent: QWidget | None = None,
        session: Session | None = None,
        classes: list[str] | None = None,
    ) -> RecordDetailDialog:
        row = detail.fields
        fields = {
            **row,
            "created_at": local_time(row["created_at"]),
            "recipe": f"{row['recipe_name']} v{row['recipe_version']}",
            "model": f"{row['model_name']} (sha256 {row['model_sha256'][:12]}...)",
            "latency": _latency(row["grab_ms"], row["detect_ms"], row["decide_ms"], row["cycle_ms"]),
            "anomaly_score": _score(row.get("anomaly_score")),
        }
        if row.get("image_pruned_at") is not None:
            fields["image_path"] = (
                f"image pruned {local_time(row['image_pruned_at'])} by the retention policy (was {row['image_path']})"
            )
        boxes = [
            (Detection(d["label"], d["class_id"], d["confidence"], (d["x1"], d["y1"], d["x2"], d["y2"])), d["counted"])
            for d in detail.detections
        ]
        image = cv2.imread(str(detail.image), cv2.IMREAD_UNCHANGED) if detail.image is not None else None
        return cls(fields, boxes, image, parent, session, classes, decode_score_map(row.get("anomaly_map")))

    @classmethod
    def from_record(
        cls,
        record: InspectionRecord,
        image: Image | None,
        parent: QWidget | None = None,
        session: Session | None = None,
        classes: list[str] | None = None,
    ) -> RecordDetailDialog:
        """A part seen live (its record may still be on its way to the database)."""
        latency = record.latencies_ms
        fields = {
            "id": record.id,
            "created_at": local_time(record.timestamp),
            "station": record.station,
            "camera": record.camera,
            "recipe": f"{record.recipe_name} v{record.recipe_version}",
            "model": f"{record.model_name} (sha256 {record.model_sha256[:12]}...)",
            "part_serial": record.part_serial,
            "verdict": record.verdict.value,
            "reasons": list(record.reasons),
            "latency": _latency(latency.get("grab", 0), latency.get("detect", 0), latency.get("decide", 0),
                                latency.get("cycle", 0)),
            "source_name": record.source_name,
            "reference_name": record.reference_name,
            "anomaly_score": _score(record.anomaly_score),
            "mm_per_px": record.mm_per_px,
            "image_path": record.image_path,
        }  # fmt: skip
        kept = set(record.kept)
        boxes = [(d, d in kept) for d in record.detections]
        return cls(fields, boxes, image, parent, session, classes, record.anomaly_map)


def _score(score: float | None) -> str | None:
    """An anomaly score as the operator reads it against the threshold 0.5 (the database keeps every digit)."""
    return None if score is None else f"{score:.3f}"


def _latency(grab: float, detect: float, decide: float, cycle: float) -> str:
    return f"grab {grab:.1f}, detect {detect:.1f}, decide {decide:.2f}, cycle {cycle:.1f}"
