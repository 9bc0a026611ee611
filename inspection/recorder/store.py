"""The single database writer: images first, then the rows, in one transaction per batch."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import cv2
from sqlalchemy import Engine, insert, select

from inspection.recorder.archive import ImageArchive, Reconciliation, reconcile
from inspection.recorder.schema import DetectionRow, InspectionRow
from inspection.types import Detection, Image, InspectionRecord

log = logging.getLogger(__name__)
BATCH = 32
LINGER_S = 0.05
RECORD_MIN_CONFIDENCE = 0.25  # detections below this that did not count are not stored
_STOP = object()


@dataclass
class PendingRecord:
    record: InspectionRecord
    image: Image | None


class RecordWriter:
    """Owns the database. ``submit`` blocks only when the bounded queue is full (never drops)."""

    def __init__(
        self,
        engine: Engine,
        archive: ImageArchive,
        queue_size: int = 256,
        record_min_confidence: float = RECORD_MIN_CONFIDENCE,
        on_written: Callable[[InspectionRecord], None] | None = None,
        on_latency: Callable[[str, float], None] | None = None,
    ) -> None:
        self.engine = engine
        self.archive = archive
        self.min_confidence = record_min_confidence
        self._queue: queue.Queue[PendingRecord | object] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        self._on_written = on_written
        self._on_latency = on_latency
        self.written = 0
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def submit(self, pending: PendingRecord) -> None:
        """Queue a record; waits while the queue is full, fails once the writer has failed."""
        while True:
            if self.error is not None:
                raise RuntimeError(f"record writer failed: {self.error}")
            try:
                self._queue.put(pending, timeout=0.5)
                return
            except queue.Full:
                continue

    def depth(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        """Write everything still queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            batch: list[PendingRecord] = []
            if first is _STOP:
                break
            batch.append(first)  # type: ignore[arg-type]
            # Linger briefly so that one transaction (one WAL fsync) carries several records.
            deadline = time.monotonic() + LINGER_S
            while len(batch) < BATCH:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)  # type: ignore[arg-type]
            try:
                self._write(batch)
            except BaseException as exc:  # keep the reason; the pipeline reports it
                log.exception("record writer failed")
                self.error = exc
                return

    def _write(self, batch: list[PendingRecord]) -> None:
        started = time.perf_counter()
        for item in batch:
            self._write_images(item)
        rows, detections = [], []
        for item in batch:
            record = item.record
            rows.append(_inspection_row(record))
            for detection, counted in _detections_to_store(record, self.min_confidence):
                x1, y1, x2, y2 = detection.box
                detections.append(
                    {
                        "inspection_id": record.id,
                        "label": detection.label,
                        "class_id": detection.class_id,
                        "confidence": detection.confidence,
                        "x1": x1,
                        "y1": y1,
                        "x2": x2,
                        "y2": y2,
                        "area": detection.area,
                        "counted": counted,
                    }
                )
        with self.engine.begin() as connection:
            connection.execute(insert(InspectionRow), rows)
            if detections:
                connection.execute(insert(DetectionRow), detections)
        per_record_ms = (time.perf_counter() - started) * 1000 / len(batch)
        self.written += len(batch)
        if self._on_latency:
            for _ in batch:
                self._on_latency("write", per_record_ms)
        if self._on_written:
            for item in batch:
                self._on_written(item.record)

    def _write_images(self, item: PendingRecord) -> None:
        record = item.record
        if item.image is None or not self.archive.policy.keeps(record.verdict.value):
            record.image_path = record.annotated_path = None
            return
        when = datetime.fromtimestamp(record.timestamp, UTC)
        relative = self.archive.relative_path(when, record.id)
        self.archive.write(relative, item.image)
        record.image_path = relative.as_posix()
        if self.archive.policy.annotated:
            annotated_rel = self.archive.relative_path(when, record.id, "_annotated")
            self.archive.write(annotated_rel, draw_detections(item.image, record))
            record.annotated_path = annotated_rel.as_posix()


def _detections_to_store(record: InspectionRecord, floor: float) -> list[tuple[Detection, bool]]:
    kept = set(record.kept)
    return [(d, d in kept) for d in record.detections if d in kept or d.confidence >= floor]


def _inspection_row(record: InspectionRecord) -> dict[str, object]:
    lat = record.latencies_ms
    return {
        "id": record.id,
        "created_at": datetime.fromtimestamp(record.timestamp, UTC),
        "station": record.station,
        "camera": record.camera,
        "recipe_name": record.recipe_name,
        "recipe_version": record.recipe_version,
        "model_name": record.model_name,
        "model_sha256": record.model_sha256,
        "part_serial": record.part_serial,
        "lot": record.lot,
        "verdict": record.verdict.value,
        "reasons": json.dumps(list(record.reasons)),
        "grab_ms": lat.get("grab", 0.0),
        "detect_ms": lat.get("detect", 0.0),
        "decide_ms": lat.get("decide", 0.0),
        "cycle_ms": lat.get("cycle", 0.0),
        "source_name": record.source_name,
        "reference_name": record.reference_name,
        "mm_per_px": record.mm_per_px,
        "image_path": record.image_path,
        "annotated_path": record.annotated_path,
        "defects": len(record.kept),
    }


def draw_detections(image: Image, record: InspectionRecord) -> Image:
    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    kept = set(record.kept)
    for detection in record.detections:
        if detection not in kept:
            continue
        x1, y1, x2, y2 = (round(v) for v in detection.box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (0, 0, 255), 2)
        cv2.putText(
            canvas,
            f"{detection.label} {detection.confidence:.2f}",
            (x1, max(12, y1 - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 0, 255),
            1,
            cv2.LINE_AA,
        )
    return canvas


def reconcile_store(engine: Engine, archive: ImageArchive, recent_days: int = 2) -> Reconciliation:
    """Reconcile the newest day folders of the archive with the rows (a crash only touches those)."""
    day_dirs = sorted(p for p in archive.root.glob("*/*/*") if p.is_dir())[-recent_days:]
    known: set[str] = set()
    with engine.connect() as connection:
        for day in day_dirs:
            prefix = day.relative_to(archive.data_dir).as_posix() + "/"
            for column in (InspectionRow.image_path, InspectionRow.annotated_path):
                result = connection.execute(select(column).where(column.like(prefix + "%")))
                known.update(row[0] for row in result if row[0])
    files = [p for day in day_dirs for p in day.iterdir() if p.is_file()]
    return reconcile(archive, files, known)
