"""The parts a station is composed of, each made (and checked) from the station's config: the record
store (database, image archive, spill journal, retention), the detector and the camera. Everything that
can fail at start fails here, with its reason, before anything runs."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Engine

from inspection.cameras import ResilientCamera, make_camera
from inspection.config import PipelineSettings, Recipe, StationConfig, Storage
from inspection.core.events import EventBus
from inspection.detectors import Detector, load_detector
from inspection.detectors.base import usable_cores
from inspection.ml.registry.selection import BackendChoice, resolve_model_file
from inspection.quality.alerts import AlertMonitor
from inspection.recorder.archive import ArchivePolicy, ImageArchive, Reconciliation
from inspection.recorder.database import open_database
from inspection.recorder.retention import ImagePruner
from inspection.recorder.spill import SpillJournal
from inspection.recorder.writer import reconcile_store, replay_pending

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordStore:
    """Where the station's records go, opened and made consistent: records a previous run left in the
    spill journal written first, then the database and the image folder reconciled."""

    database_url: str
    engine: Engine
    archive: ImageArchive
    spill: SpillJournal
    replayed: int  # records of the journal written at this start
    reconciliation: Reconciliation
    pruner: ImagePruner | None  # deletes old images to keep the disk free (storage.retention)


def open_record_store(storage: Storage) -> RecordStore:
    url = storage.resolved_database_url()
    engine = open_database(url)
    policy = ArchivePolicy(storage.archive, storage.image_format, storage.jpeg_quality, storage.annotated)
    archive = ImageArchive(storage.data_dir, policy)
    spill = SpillJournal(storage.data_dir)
    replayed = replay_pending(engine, spill)  # before reconciling: their images are known then
    reconciliation = reconcile_store(engine, archive)
    if reconciliation.orphans_moved or reconciliation.partial_files_removed:
        log.warning("start-up reconciliation: %s", reconciliation)
    pruner = ImagePruner(engine, storage.data_dir, storage.retention) if storage.retention else None
    return RecordStore(url, engine, archive, spill, replayed, reconciliation, pruner)


def parallel_parts(pipeline: PipelineSettings) -> int:
    """How many parts the station inspects at once: ``auto`` overlaps two on a machine with two cores or
    more (one part's registration beside another's classifier), each with ``inference_threads``."""
    if pipeline.parallel_parts != "auto":
        return pipeline.parallel_parts
    return 2 if usable_cores() >= 2 else 1


def open_detector(recipe: Recipe, pipeline: PipelineSettings) -> tuple[Detector, BackendChoice]:
    """The recipe's model, loaded: a file as it is, a registry model in the backend its device calls for."""
    choice = resolve_model_file(recipe.model, pipeline.device)
    log.info("model %s on %s: %s", choice.path, choice.device, choice.reason)
    detector = load_detector(
        choice.path,
        recipe.imgsz,
        choice.device,
        recipe.iou,
        expected_classes=recipe.classes,
        warm_up=pipeline.warmup,
        threads=pipeline.inference_threads,
        reference=recipe.reference,
        alignment=recipe.reference_alignment,
        parallel=parallel_parts(pipeline),
    )
    return detector, choice


def open_camera(config: StationConfig, stop: threading.Event) -> ResilientCamera:
    """The configured camera behind the wrapper that reconnects it (not opened yet)."""
    reconnect = config.camera.reconnect_policy()
    return ResilientCamera(
        make_camera(config.camera), stop, reconnect.initial_s, reconnect.max_s, reconnect.max_consecutive_failures
    )


def open_alerts(config: StationConfig, engine: Engine, bus: EventBus) -> AlertMonitor | None:
    """The station's alert rules watching its events (None: it lists none)."""
    if not config.alerts:
        return None
    monitor = AlertMonitor(list(config.alerts), engine, config.station, config.storage.data_dir, bus.publish)
    bus.subscribe(monitor.on_event)
    return monitor
