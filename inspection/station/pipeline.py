"""The running station: grab -> detect + decide -> record, as workers joined by bounded queues (the
frames' overflow policy: ``frame_queue.py``; a product changeover between two parts: ``changeover.py``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime

from inspection.config import Recipe, StationConfig, load_recipe
from inspection.core.errors import ConfigError
from inspection.core.events import (
    CameraBack,
    CameraFault,
    EventBus,
    InspectionDone,
    RecordWritten,
    StateChanged,
    StatsUpdate,
)
from inspection.core.status import StationStatus
from inspection.core.types import Frame, InspectionRecord
from inspection.detectors import Detector
from inspection.ml.registry.selection import BackendChoice
from inspection.outputs.base import OutputContext, fault_reporter, link_reporter
from inspection.outputs.handshake import PlcHandshake, Result
from inspection.outputs.line_outputs import LineOutputs
from inspection.outputs.line_trigger import LineTrigger, ManualTrigger, PlcTrigger, first_trigger
from inspection.outputs.plc import switchable_recipes
from inspection.quality.measurement import load_measurement
from inspection.quality.rules import require_scale
from inspection.recorder.archive import check_writable
from inspection.recorder.folder_lock import DataFolderLock
from inspection.recorder.recipes import effective_recipe, remember_recipe
from inspection.recorder.state_periods import product_key
from inspection.recorder.writer import RECORD_MIN_CONFIDENCE, PendingRecord, RecordWriter
from inspection.station.builder import open_alerts, open_camera, open_record_store, parallel_parts
from inspection.station.changeover import ChangeoverResult, Products, model_key, set_camera
from inspection.station.detect_workers import DetectWorkers
from inspection.station.frame_queue import FrameQueue
from inspection.station.line_commands import line_command
from inspection.station.live_stats import LiveStats
from inspection.station.part import cycle_ms, inspect_frame, recipe_floor
from inspection.station.run_summary import RunSummary
from inspection.station.state_log import StateLog
from inspection.station.views import ViewInspector, open_views, own_products

log = logging.getLogger(__name__)


class Station:
    """Build once from a config (every check that can fail does so here), then ``run``."""

    def __init__(self, config: StationConfig, bus: EventBus | None = None) -> None:
        self.config = config
        self.bus = bus or EventBus()
        recipe = load_recipe(config.recipe)
        self.measurement = load_measurement(config.measurement, config.camera.serial_number())
        require_scale(recipe, self.measurement.mm_per_px)
        storage = config.storage
        check_writable(storage.data_dir)
        # One station per data folder, for its whole life: nothing below runs beside another station.
        self.folder_lock = DataFolderLock(storage.data_dir, config.station)
        self.folder_lock.acquire()
        try:
            self._build(config, recipe)
        except BaseException:
            self.folder_lock.release()
            raise

    def _build(self, config: StationConfig, recipe: Recipe) -> None:
        storage = config.storage
        self.store = open_record_store(storage)
        self.engine = self.store.engine
        self.database_url = self.store.database_url
        self.pruner = self.store.pruner
        self.products = Products(recipe, config.pipeline, self._remember, self.measurement.mm_per_px, self.bus)
        self._stop = threading.Event()
        self.camera = open_camera(config, self._stop)
        self.camera.on_lost = self._publish_faults
        self.camera.on_back = lambda: self.bus.publish(CameraBack(self.camera.name, self.camera.status))
        self.camera.on_opened = lambda: set_camera(self.camera, self.recipe)
        self.views = open_views(config, self.camera, self._stop)  # several cameras: one part, N views
        self.view_inspector = ViewInspector(
            own_products(config, self._remember, self.measurement.mm_per_px),
            config.pipeline.parallel_views, config.station, self.measurement.mm_per_px,
        )  # fmt: skip
        self.trigger: LineTrigger = first_trigger(config, self._paced)  # PLC: from run() on
        self._next_serial: str | None = None  # typed or scanned at the cell: goes on the next part
        self.stats = LiveStats()
        self._frames = FrameQueue(config.pipeline.queue_size, self.stats, self.products.gate)
        # Parts inspected side by side (the views of a multi-camera part already are, by the view inspector).
        parallel = 1 if self.views is not None else parallel_parts(config.pipeline)
        self.detect_workers = DetectWorkers(
            self._frames, self._judge, self._finish_part, self._detector_failed, parallel
        )
        self._one_at_a_time = threading.Lock()  # for a detector that takes one part at a time
        self.writer = RecordWriter(
            self.engine,
            self.store.archive,
            config.pipeline.record_queue_size,
            on_written=self._written,
            on_latency=self.stats.add_latency,
            spill=self.store.spill,
        )
        self._errors: list[str] = []
        self._last_faults = 0
        self._faults_lock = threading.Lock()  # the run loop and the grab thread (on_lost) both publish
        self.switchable = switchable_recipes(config.recipes)
        if config.pipeline.preload_products:
            self.products.cache.preload(list(self.switchable.values()))
        # MQTT, fleet and registered outputs: each off unless configured
        self.outputs = LineOutputs(OutputContext(config, self.engine, self.bus, self._command))
        self.alerts = open_alerts(config, self.engine, self.bus)
        current = self.products
        self.state_log = StateLog(
            self.engine, config.station, lambda: product_key(self.recipe.name, current.current.recipe_sha256)
        )
        self.bus.subscribe(self.state_log.on_event)

    # ------------------------------------------------------------ control
    def trigger_part(self, serial: str | None = None) -> None:
        """One part now (a station with ``pipeline.trigger: manual``), with its serial if given."""
        if not isinstance(self.trigger, ManualTrigger):
            raise ConfigError("this station triggers its own parts; pipeline.trigger: manual triggers them by hand")
        self.trigger.request(serial)

    def next_part_serial(self, serial: str | None) -> None:
        """The serial of the next part grabbed (a barcode scanned at the cell); a PLC's serial wins."""
        self._next_serial = serial or None

    def change_product(self, recipe: Recipe, source: str = "station") -> ChangeoverResult:
        """Switch to another product between two parts, while running or not: the parts in flight finish
        on the old one. Refused (the old one stays, the result says why) when it fails a check."""
        return self.products.change(recipe, self.camera, self._stop, source)

    def apply_rules(self, recipe: Recipe) -> None:
        """Use new rules from the next part on; another model is a changeover (raises when refused)."""
        if model_key(recipe) != model_key(self.recipe):
            result = self.change_product(recipe, "rules")
            if result.refused is not None:
                raise ConfigError(result.refused)
            return
        require_scale(recipe, self.measurement.mm_per_px)
        self.products.new_rules(recipe)

    @property
    def recipe(self) -> Recipe:
        """The recipe that judges the next part."""
        return self.products.current.recipe

    @property
    def recipe_sha256(self) -> str | None:
        return self.products.current.recipe_sha256

    @property
    def detector(self) -> Detector:
        return self.products.current.detector

    @property
    def backend_choice(self) -> BackendChoice:
        return self.products.current.backend

    def _remember(self, recipe: Recipe, detector: Detector) -> str:
        """The hash of the effective recipe (rules, model, references), its content stored once."""
        effective = effective_recipe(recipe, detector.info.sha256)
        remember_recipe(self.engine, effective)
        return effective.sha256

    @property
    def plc(self) -> PlcHandshake | None:
        """The PLC handshake while the station runs with one (None: no PLC)."""
        return self.trigger.handshake if isinstance(self.trigger, PlcTrigger) else None

    def stop(self) -> None:
        """Stop grabbing; every part already grabbed is still inspected and recorded."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(
        self,
        parts: int | None = None,
        duration_s: float | None = None,
        on_tick: Callable[[StationStatus], None] | None = None,
        tick_s: float = 0.5,
    ) -> RunSummary:
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        grabber, detector = self._start(parts)
        deadline = time.monotonic() + duration_s if duration_s else None
        try:
            while detector.is_alive():
                detector.join(tick_s)
                if deadline and time.monotonic() >= deadline:
                    self.stop()
                self._publish_faults()
                status = self.status()
                self.bus.publish(StatsUpdate(status))
                if on_tick is not None:
                    on_tick(status)
        except KeyboardInterrupt:
            self.stop()
            detector.join()
        finally:
            self._finish(grabber, detector)
        if self.writer.failure is not None:
            self._errors.append(f"record writer: {self.writer.failure}")
        return self._summary(started_at)

    def _start(self, parts: int | None) -> tuple[threading.Thread, threading.Thread]:
        """Outputs, PLC, camera, writer and pruner started, then the grab and detect workers."""
        self.bus.publish(StateChanged("starting"))
        self.outputs.start()
        try:
            return self._start_line(parts)
        except BaseException:  # a PLC port taken, a camera that does not open: no output left running
            self.outputs.close()
            raise

    def _start_line(self, parts: int | None) -> tuple[threading.Thread, threading.Thread]:
        if self.config.plc is not None:
            self.trigger = PlcTrigger(
                self.config.plc,
                fault_reporter(self.bus, "plc"),
                self.switchable,
                lambda recipe: self.change_product(recipe, "plc").refused,
                link_reporter(self.bus, "plc"),
            )
        if self.views is not None:
            self.views.open()  # every view's camera, and a grab thread per camera
        else:
            self.camera.open()
        self.writer.start()
        if self.pruner is not None:
            self.pruner.start()
        grabber = threading.Thread(target=self._grab_loop, args=(parts,), name="grab", daemon=True)
        detector = threading.Thread(target=self.detect_workers.run, name="detect", daemon=True)
        self.stats.started = time.perf_counter()
        grabber.start()
        detector.start()
        self.bus.publish(StateChanged("running"))
        return grabber, detector

    def _finish(self, grabber: threading.Thread, detector: threading.Thread) -> None:
        """Every grabbed part inspected and recorded, then everything stopped in the reverse order."""
        self.bus.publish(StateChanged("stopping"))
        self.stop()
        grabber.join(timeout=10)
        detector.join()
        self.writer.close()
        if self.pruner is not None:
            self.pruner.close()
        self.outputs.records_written()
        self.stats.finished = time.perf_counter()
        if self.views is not None:
            self.views.close()
        else:
            self.camera.close()
        self.trigger.close()
        self.bus.publish(StatsUpdate(self.status()))  # the final counts
        self.bus.publish(StateChanged("stopped"))
        self.outputs.close()

    def _summary(self, started_at: str) -> RunSummary:
        return RunSummary(
            stats=self.stats.snapshot(),
            camera=self.camera.status,
            records_written=self.writer.written,
            records_pending=self.writer.pending,
            records_replayed=self.store.replayed,
            reconciliation=str(self.store.reconciliation),
            started_at=started_at,
            database=self.database_url,
            data_dir=str(self.config.storage.data_dir),
            errors=self._errors,
        )

    def status(self) -> StationStatus:
        return StationStatus(
            counts=self.stats.snapshot(),
            camera=self.camera.status,
            frames_queued=self._frames.qsize(),
            records_queued=self.writer.depth(),
            records_written=self.writer.written,
            records_pending=self.writer.pending,
            events_dropped=self.bus.dropped,
            images_pruned=None if self.pruner is None else self.pruner.counts.images,
            plc=self.trigger.counters(),
            outputs=self.outputs.status(),
        )

    def close(self) -> None:
        try:
            self.products.close()
            self.view_inspector.close()
            self.bus.close()
            self.engine.dispose()
        finally:
            self.folder_lock.release()

    # ------------------------------------------------------------ workers
    def _written(self, record: InspectionRecord) -> None:
        """On the record writer's thread, once the record is in the database."""
        self.bus.publish(RecordWritten(record))
        if self.pruner is not None:
            self.pruner.nudge()

    def _grab_loop(self, parts: int | None) -> None:
        grabbed = 0
        paced = self._paced
        try:
            while not self._stop.is_set() and (parts is None or grabbed < parts):
                if paced and not self._frames.wait_for_slot(self._stop):
                    break  # stopping
                request = self.trigger.wait(self._stop)
                if request is None:
                    if paced:
                        self._frames.release_slot()
                    break  # stopping
                with self.products.gate.grab(self._stop):  # a changeover waits for this part's queueing
                    frame = self.views.grab() if self.views is not None else self.camera.next_frame()
                    if frame is None:
                        if paced:
                            self._frames.release_slot()
                        self.trigger.complete(Result(None))
                        break
                    if request.from_line:
                        self.trigger.grabbed()
                    frame.part_serial, frame.lot = request.serial or self._take_serial(), request.lot
                    grabbed += 1
                    self._frames.put(frame, have_slot=paced)
        except Exception as exc:
            log.exception("grab worker failed")
            self._errors.append(f"camera: {exc}")
        finally:
            self._frames.end()

    def _judge(self, frame: Frame) -> InspectionRecord:
        product = self.products.current  # once per part: a changeover swaps it between parts
        if frame.views is not None:
            return self.view_inspector.inspect(frame, product)
        if self.measurement.undistort is not None:
            frame.image = self.measurement.undistort(frame.image)
        # Near misses (below the rules' thresholds) are recorded too, for review and retraining.
        floor = min(recipe_floor(product.recipe), RECORD_MIN_CONFIDENCE)
        with nullcontext() if product.detector.concurrent else self._one_at_a_time:
            return inspect_frame(
                frame, product.detector, product.recipe, self.config.station, floor,
                self.measurement.mm_per_px, product.recipe_sha256,
            )  # fmt: skip

    @property
    def _paced(self) -> bool:
        """Whether the station triggers its camera(s) itself (by software)."""
        return self.views.paced_by_station if self.views is not None else self.camera.source.paced_by_station

    def _take_serial(self) -> str | None:
        serial, self._next_serial = self._next_serial, None
        return serial

    def _finish_part(self, record: InspectionRecord, frame: Frame) -> None:
        """In the part's turn: its verdict out to the line, its record to the writer, its events."""
        self.products.gate.left()
        # The cycle ends when the verdict goes out (a part inspected beside a slower one waits for it).
        record = dataclasses.replace(record, latencies_ms={**record.latencies_ms, "cycle": cycle_ms(frame)})
        views = {name: view.image for name, view in (frame.views or {}).items() if isinstance(view, Frame)}
        self.writer.submit(PendingRecord(record, frame.image, views))
        self.stats.add_part(record.verdict.value, record.latencies_ms)
        self.trigger.complete(Result(record.verdict.value, record.id, len(record.kept)))
        self.outputs.record(record)
        self.bus.publish(InspectionDone(record, frame))

    def _detector_failed(self, exc: Exception) -> None:
        log.error("detect worker failed", exc_info=exc)
        self.trigger.complete(Result(None))
        self._errors.append(f"detector: {exc}")
        self.bus.publish(StateChanged("fault", f"detector: {exc}"))
        self.stop()
        self._frames.drain()

    def _command(self, command: dict[str, object]) -> str:
        """A command from the line: MQTT (commands: true and a broker login) or an OPC UA method (logged in)."""
        return line_command(
            command, self.stop, self.switchable, lambda recipe: self.change_product(recipe, "line"), self.trigger_part
        )

    def _publish_faults(self) -> None:
        with self._faults_lock:  # one CameraFault per change, whichever thread sees it first
            status = self.camera.status
            if status.faults == self._last_faults:
                return
            self._last_faults = status.faults
        self.bus.publish(CameraFault(self.camera.name, status.last_fault or "", status))
