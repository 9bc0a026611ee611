"""Image retention: the oldest images are deleted so the disk never fills, off the capture and inference
path, and every deletion is written into its record first (``image_pruned_at``), so no record points to
a missing file without saying so. Records themselves are never deleted.

Two triggers: age (``max_age_days``, checked every ``check_interval_s``) and free space (``min_free_gb`` /
``min_free_percent`` of the images' disk, checked after every batch the record writer commits). For space,
``keep: fail_first`` deletes PASS images before FAIL ones, each oldest first (Cognex's "file cleanup"
keeps a free percentage; frigate deletes the oldest recordings when storage runs low)."""

from __future__ import annotations

import logging
import math
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, select, update
from sqlalchemy.exc import OperationalError

from inspection.config import Retention
from inspection.recorder.archive import stored_image
from inspection.recorder.schema import InspectionRow, InspectionViewRow

log = logging.getLogger(__name__)
_Candidates = Select[str, str | None, str | None]
BATCH = 100
HEADROOM = 1.02  # free a little more than the minimum, so one pass lasts a while


@dataclass
class PruneCounts:
    images: int = 0
    bytes_freed: int = 0


class ImagePruner:
    def __init__(self, engine: Engine, data_dir: Path, policy: Retention) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.policy = policy
        self.counts = PruneCounts()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="image-pruner", daemon=True)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def nudge(self) -> None:
        """A batch was written: check the free space soon (cheap; called on the writer's thread)."""
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        next_age_check = 0.0
        while not self._stop.is_set():
            self.prune_for_space()
            now = time.monotonic()
            if self.policy.max_age_days is not None and now >= next_age_check:
                self.prune_by_age()
                next_age_check = now + self.policy.check_interval_s
            self._wake.wait(self.policy.check_interval_s)
            self._wake.clear()

    # ------------------------------------------------------------ passes
    def prune_by_age(self, now: datetime | None = None) -> int:
        """Delete the images of records older than ``max_age_days``; the number deleted."""
        if self.policy.max_age_days is None:
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.policy.max_age_days)
        pruned = 0
        while not self._stop.is_set():
            query = _candidates().where(InspectionRow.created_at < cutoff).order_by(InspectionRow.created_at)
            done = self._prune(query.limit(BATCH))
            pruned += done
            if done < BATCH:
                break
        return pruned

    def prune_for_space(self) -> int:
        """Delete the oldest images (PASS first with ``keep: fail_first``) until the images' disk has the
        free space the policy asks for; the number deleted."""
        wanted = self.min_free_bytes()
        if wanted is None or self.free_bytes() >= wanted:
            return 0
        pruned = 0
        target = wanted * HEADROOM
        order: list[ColumnElement[Any]] = [InspectionRow.created_at.asc()]
        if self.policy.keep == "fail_first":
            order.insert(0, (InspectionRow.verdict == "fail").asc())
        record_bytes = 0.0  # what one record's images free, learnt from the first one deleted
        while (free := self.free_bytes()) < target and not self._stop.is_set():
            # Just enough records each time (so the order holds: no FAIL goes with a batch of PASS ones).
            count = 1 if not record_bytes else min(BATCH, max(1, math.ceil((target - free) / record_bytes)))
            freed_before = self.counts.bytes_freed
            done = self._prune(_candidates().order_by(*order).limit(count))
            if not done:
                log.warning("retention: the disk is below its free-space minimum and no image is left to delete")
                break
            record_bytes = max(record_bytes, (self.counts.bytes_freed - freed_before) / done)
            pruned += done
        if pruned:
            log.info("retention: %d image(s) deleted for space (free %.1f GB)", pruned, self.free_bytes() / 1e9)
        return pruned

    def min_free_bytes(self) -> float | None:
        needs = []
        if self.policy.min_free_gb is not None:
            needs.append(self.policy.min_free_gb * 1e9)
        if self.policy.min_free_percent is not None:
            needs.append(self.policy.min_free_percent / 100 * shutil.disk_usage(self._disk()).total)
        return max(needs) if needs else None

    def free_bytes(self) -> int:
        return shutil.disk_usage(self._disk()).free

    def _disk(self) -> Path:
        images = self.data_dir / "images"
        return images if images.is_dir() else self.data_dir

    def _prune(self, query: _Candidates) -> int:
        """Mark a batch of records pruned (committed first), then delete their files."""
        try:
            with self.engine.begin() as connection:
                rows = connection.execute(query).all()
                if rows:
                    connection.execute(
                        update(InspectionRow)
                        .where(InspectionRow.id.in_([row.id for row in rows]))
                        .values(image_pruned_at=datetime.now(UTC))
                    )
        except OperationalError as exc:
            log.info("retention: database busy (%s); the next pass tries again", str(exc.orig).splitlines()[0])
            return 0
        for row in rows:
            for stored in (row.image_path, row.annotated_path):
                self._delete(stored)
        for stored in self._view_images([row.id for row in rows]):
            if stored not in {row.image_path for row in rows}:
                self._delete(stored)
        self.counts.images += len(rows)
        return len(rows)

    def _view_images(self, ids: list[str]) -> list[str]:
        """The view images of multi-camera parts among ``ids`` (marked pruned with their part)."""
        if not ids:
            return []
        query = select(InspectionViewRow.image_path).where(
            InspectionViewRow.inspection_id.in_(ids), InspectionViewRow.image_path.is_not(None)
        )
        with self.engine.connect() as connection:
            return [str(row[0]) for row in connection.execute(query)]

    def _delete(self, stored: str | None) -> None:
        path = stored_image(self.data_dir, stored)  # never a path outside the data folder
        if path is None:
            return
        try:
            size = path.stat().st_size
            path.unlink()
        except OSError as exc:
            log.warning("retention: cannot delete %s (%s)", path, exc.strerror)
            return
        self.counts.bytes_freed += size


def _candidates() -> _Candidates:
    """Records whose image is still kept."""
    return select(InspectionRow.id, InspectionRow.image_path, InspectionRow.annotated_path).where(
        InspectionRow.image_path.is_not(None), InspectionRow.image_pruned_at.is_(None)
    )
