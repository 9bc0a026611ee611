"""The single database writer: images first, then the rows, in one transaction per batch."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cv2
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import OperationalError

from inspection.core.errors import StorageError, brief
from inspection.core.types import Image, InspectionRecord
from inspection.recorder.archive import ImageArchive, Reconciliation, reconcile
from inspection.recorder.database import error_reason
from inspection.recorder.schema import InspectionRow, InspectionViewRow
from inspection.recorder.score_maps import encode_score_map
from inspection.recorder.spill import PendingRows, SpillJournal, insert_children, insert_pending
from inspection.recorder.view_rows import stored_detections, view_detections, view_rows, write_view_images

log = logging.getLogger(__name__)
BATCH = 32
LINGER_S = 0.05
RECORD_MIN_CONFIDENCE = 0.25  # detections below this that did not count are not stored
_STOP = object()


@dataclass
class PendingRecord:
    record: InspectionRecord
    image: Image | None
    view_images: dict[str, Image] = field(default_factory=dict)  # a multi-camera part: each view's image


class RecordWriter:
    """Owns the database. ``submit`` blocks only when the bounded queue is full (never drops).

    A database that is locked by another writer or briefly unavailable loses nothing: the batch goes to
    the spill journal (``spill.py``) and the writer tries again with back-off; once a commit succeeds the
    journal's records go in first, in order. Any other database error, or a full journal, stops the writer
    (``error``), and with it the station: every inspected part is recorded or the station says it is not."""

    def __init__(
        self,
        engine: Engine,
        archive: ImageArchive,
        queue_size: int = 256,
        record_min_confidence: float = RECORD_MIN_CONFIDENCE,
        on_written: Callable[[InspectionRecord], None] | None = None,
        on_latency: Callable[[str, float], None] | None = None,
        spill: SpillJournal | None = None,
    ) -> None:
        self.engine = engine
        self.archive = archive
        self.min_confidence = record_min_confidence
        self.spill = spill or SpillJournal(archive.data_dir)
        self._queue: queue.Queue[PendingRecord | object] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        self._on_written = on_written
        self._on_latency = on_latency
        self._held: list[PendingRecord] = []  # spilled in this run: announced once they are in the database
        self._retry = _Backoff()
        self.written = 0
        self.error: BaseException | None = None

    @property
    def failure(self) -> str | None:
        """Why the writer stopped, in one line (a database error without its SQL and parameters)."""
        if self.error is None:
            return None
        cause = getattr(self.error, "orig", None) or self.error
        return brief(cause) if not isinstance(cause, StorageError) else str(cause)

    @property
    def pending(self) -> int:
        """Records waiting in the spill journal for the database."""
        return self.spill.count

    def start(self) -> None:
        self._thread.start()

    def submit(self, pending: PendingRecord) -> None:
        """Queue a record; waits while the queue is full, fails once the writer has failed."""
        while True:
            if self.error is not None:
                raise RuntimeError(f"record writer failed: {self.failure}")
            try:
                self._queue.put(pending, timeout=0.5)
                return
            except queue.Full:
                continue

    def depth(self) -> int:
        return self._queue.qsize()

    def close(self, final_tries_s: float = 10.0) -> None:
        """Write everything still queued, then stop. Records the database still refuses after
        ``final_tries_s`` stay in the journal, for the next start."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        deadline = time.monotonic() + final_tries_s
        while self.error is None and self.spill.count and time.monotonic() < deadline:
            time.sleep(min(self._retry.wait_s(), max(0.0, deadline - time.monotonic())))
            self._flush_spill()
        if self.spill.count:
            log.warning("%d record(s) wait in %s; written at the next start", self.spill.count, self.spill.path)

    def _run(self) -> None:
        try:
            while self._next_batch():
                pass
        except BaseException as exc:  # keep the reason; the pipeline reports it
            log.exception("record writer failed")
            self.error = exc

    def _next_batch(self) -> bool:
        """Take a batch from the queue and write it; False once told to stop."""
        wait = self._retry.wait_s() if self.spill.count else None
        try:
            first = self._queue.get(timeout=wait)
        except queue.Empty:
            self._flush_spill()  # nothing new: try the database again with what waits
            return True
        if first is _STOP:
            return False
        batch: list[PendingRecord] = [first]  # type: ignore[list-item]
        # Linger briefly so that one transaction (one WAL fsync) carries several records.
        deadline = time.monotonic() + LINGER_S
        stopping = False
        while len(batch) < BATCH:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is _STOP:
                stopping = True
                break
            batch.append(item)  # type: ignore[arg-type]
        self._write(batch)
        return not stopping

    def _write(self, batch: list[PendingRecord]) -> None:
        started = time.perf_counter()
        for item in batch:
            self._write_images(item)
        rows = [self._rows(item.record) for item in batch]
        if self.spill.count:  # older records wait: these go behind them, in order
            self._keep(batch, rows)
            if not self._retry.wait_s():
                self._flush_spill()
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(InspectionRow), [row.inspection for row in rows])
                insert_children(connection, rows)
        except OperationalError as exc:  # locked, busy, unreachable: keep them and try again
            log.warning("database unavailable (%s); records wait in %s", error_reason(exc), self.spill.path)
            self._keep(batch, rows)
            self._retry.failed()
            return
        self._written(batch, (time.perf_counter() - started) * 1000 / len(batch))

    def _keep(self, batch: list[PendingRecord], rows: list[PendingRows]) -> None:
        self.spill.append(rows)
        self._held.extend(batch)

    def _flush_spill(self) -> None:
        """Write the journal's records into the database (oldest first), then empty it."""
        started = time.perf_counter()
        try:
            records = self.spill.read()
            with self.engine.begin() as connection:
                insert_pending(connection, records)
        except OperationalError as exc:
            self._retry.failed()
            log.info("database still unavailable (%s); %d record(s) wait", error_reason(exc), self.spill.count)
            return
        self.spill.clear()
        self._retry.reset()
        held, self._held = self._held, []
        log.info("database available again: %d waiting record(s) written", len(records))
        self._written(held, (time.perf_counter() - started) * 1000 / max(1, len(held)), count=len(records))

    def _written(self, batch: list[PendingRecord], per_record_ms: float, count: int | None = None) -> None:
        self.written += len(batch) if count is None else count
        if self._on_latency:
            for _ in batch:
                self._on_latency("write", per_record_ms)
        if self._on_written:
            for item in batch:
                self._on_written(item.record)

    def _rows(self, record: InspectionRecord) -> PendingRows:
        if record.views:
            return PendingRows(_inspection_row(record), view_detections(record, self.min_confidence), view_rows(record))
        detections = stored_detections(record.id, record.detections, record.kept, self.min_confidence)
        return PendingRows(_inspection_row(record), detections)

    def _write_images(self, item: PendingRecord) -> None:
        record = item.record
        if item.image is None or not self.archive.policy.keeps(record.verdict.value):
            record.image_path = record.annotated_path = None
            return
        if record.views:
            write_view_images(self.archive, record, item.view_images)
            return
        when = datetime.fromtimestamp(record.timestamp, UTC)
        relative = self.archive.relative_path(when, record.id)
        self.archive.write(relative, item.image)
        record.image_path = relative.as_posix()
        if self.archive.policy.annotated:
            annotated_rel = self.archive.relative_path(when, record.id, "_annotated")
            self.archive.write(annotated_rel, draw_detections(item.image, record))
            record.annotated_path = annotated_rel.as_posix()


class _Backoff:
    """When to try an unavailable database again: 0.2 s after a failure, doubling up to 5 s."""

    FIRST_S = 0.2
    MOST_S = 5.0

    def __init__(self) -> None:
        self.delay_s = self.FIRST_S
        self.next_at = 0.0

    def failed(self) -> None:
        self.next_at = time.monotonic() + self.delay_s
        self.delay_s = min(self.MOST_S, self.delay_s * 2)

    def reset(self) -> None:
        self.delay_s = self.FIRST_S
        self.next_at = 0.0

    def wait_s(self) -> float:
        return max(0.0, self.next_at - time.monotonic())


def replay_pending(engine: Engine, spill: SpillJournal) -> int:
    """At start (under the data-folder lock): write what an earlier run left in the journal; the number
    written. A database that still refuses them stops the start with the reason (nothing is lost)."""
    if not spill.count:
        return 0
    records = spill.read()
    try:
        with engine.begin() as connection:
            written = insert_pending(connection, records)
    except OperationalError as exc:
        raise StorageError(
            f"{spill.path}: {len(records)} record(s) of an earlier run cannot be written yet ({error_reason(exc)}); "
            "they stay there: free the database and start again"
        ) from None
    spill.clear()
    log.warning("start-up: %d record(s) left waiting by an earlier run written to the database", written)
    return written


def _inspection_row(record: InspectionRecord) -> dict[str, Any]:
    lat = record.latencies_ms
    return {
        "id": record.id,
        "created_at": datetime.fromtimestamp(record.timestamp, UTC),
        "station": record.station,
        "camera": record.camera,
        "recipe_name": record.recipe_name,
        "recipe_version": record.recipe_version,
        "recipe_sha256": record.recipe_sha256,
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
        "anomaly_score": record.anomaly_score,
        "anomaly_map": encode_score_map(record.anomaly_map),
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
                kept = InspectionRow.image_pruned_at.is_(None)  # a pruned image is gone on purpose
                result = connection.execute(select(column).where(column.like(prefix + "%"), kept))
                known.update(row[0] for row in result if row[0])
            views = (
                select(InspectionViewRow.image_path)
                .join(InspectionRow, InspectionRow.id == InspectionViewRow.inspection_id)
                .where(InspectionViewRow.image_path.like(prefix + "%"), InspectionRow.image_pruned_at.is_(None))
            )
            known.update(row[0] for row in connection.execute(views) if row[0])
    files = [p for day in day_dirs for p in day.iterdir() if p.is_file()]
    return reconcile(archive, files, known)
