"""What the station reports, drawn on the operator window (GUI thread): the live image, verdict with the
held FAIL, the state area, shift counters, camera and fault lines.

The state area follows a clock (``STATE_TICK_MS``) as well as the events: "waiting for trigger" and the
end of a FAIL's hold are about time passing, not about an event arriving."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QObject, QTimer

from gui.bridge import StationBridge
from gui.operator_panel import SidePanel
from gui.shift_tally import ShiftTally
from gui.station_state import StateTracker
from gui.widgets.image_view import ImageView
from inspection.config import Recipe
from inspection.core.events import InspectionDone
from inspection.core.status import CameraCounts, StationStatus
from inspection.core.types import Image, InspectionRecord
from inspection.quality.wording import in_words

LIVE_VIEW_HZ = 10
STATE_TICK_MS = 250
NOT_LIVE = frozenset({"stopped", "stopping", "changing"})  # the verdict on screen is greyed
STALE_NOTES = {  # the live image, dimmed, says why it is not live
    "camera_fault": "LAST PART BEFORE THE CAMERA FAULT",
    "line_fault": "",
    "error": "STATION STOPPED BY AN ERROR",
    "stopped": "STOPPED: LAST PART",
    "changing": "CHANGING PRODUCT",
}


class LiveStatus(QObject):
    def __init__(
        self,
        bridge: StationBridge,
        panel: SidePanel,
        image: ImageView,
        tracker: StateTracker,
        tally: ShiftTally,
        parent: QObject | None = None,
        on_state: Callable[[str], None] = lambda state: None,
    ) -> None:
        super().__init__(parent)  # the window: its clock stops with it
        self.on_state = on_state  # the window's buttons: they follow the state in the same slot as the state area
        self.bridge = bridge
        self.panel = panel
        self.image = image
        self.tracker = tracker
        self.tally = tally
        self.recipe: Recipe | None = None
        self.camera_name = ""
        self.latest: InspectionDone | None = None
        self.shown = 0  # parts drawn in the live view (the newest only; never a backlog)
        self.live = (0, 0)  # the running station's (parts, failed) since its start
        self._held_part: tuple[InspectionRecord, Image] | None = None  # the last FAIL and its image
        self._drawn = ""  # the record whose image is on screen
        # The live view redraws at most LIVE_VIEW_HZ times a second: people cannot read more, and every
        # redraw takes CPU from the station (measured in benchmarks/gui_overhead.py).
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.timeout.connect(self.show_latest)
        self._last_paint = 0.0
        self._clock = QTimer(self)
        self._clock.timeout.connect(self.tick)
        self._clock.start(STATE_TICK_MS)
        bridge.latest_ready.connect(self._schedule_latest)
        bridge.failed_part.connect(self._failed_part)
        bridge.stats.connect(self.show_stats)
        bridge.state.connect(self.station_state)  # the one slot of the state: the window's buttons too
        bridge.fault.connect(self.camera_fault)
        bridge.line_fault.connect(lambda source, message: self._line(source, message))
        bridge.line_link.connect(lambda source, up, message: self._link(source, up, message))
        bridge.product.connect(self.product_change)

    # ------------------------------------------------------------ the clock
    def tick(self) -> None:
        now = time.monotonic()
        shown = self.tracker.shown(now)
        if shown != self.panel.state.shown:
            self.panel.state.show_state(shown)
        fault = shown if shown.is_fault else None
        if fault != self.panel.verdict.fault:
            self.panel.verdict.show_fault(fault, now)
        else:
            self.panel.verdict.redraw(now)
        self._draw_current(now)  # a hold that ended gives the screen back to the latest part
        self.image.set_stale(STALE_NOTES.get(shown.kind, ""))

    # ------------------------------------------------------------ parts
    def _schedule_latest(self) -> None:
        if self._repaint.isActive():
            return
        wait_ms = max(0.0, 1000.0 / LIVE_VIEW_HZ - 1000.0 * (time.monotonic() - self._last_paint))
        self._repaint.start(int(wait_ms))

    def show_latest(self) -> None:
        """The newest part (at most LIVE_VIEW_HZ times a second); a held FAIL keeps its image on screen."""
        self._last_paint = now = time.monotonic()
        done = self.bridge.take_latest()
        if done is not None:
            self.latest = done
            record = done.record
            self.tracker.part(now)
            self.panel.verdict.show_part(record.verdict.value, self.words(record), record.reasons, now)
            self.panel.counters.show_cycle(record.latencies_ms.get("cycle", 0.0))
            self.shown += 1
            self._stale_if_stopped(now)
        self._draw_current(now)

    def _failed_part(self, record: InspectionRecord, image: Image | None, _thumbnail: object) -> None:
        """Every FAIL, also one the live view never drew: held on screen with its image."""
        now = time.monotonic()
        self.tracker.part(now)
        self.panel.verdict.hold_fail(self.words(record), record.reasons, now)
        self._stale_if_stopped(now)
        if image is not None:
            self._held_part = (record, image)
            self._schedule_latest()

    def _stale_if_stopped(self, now: float) -> None:
        """A part drawn after the station said it stops (the repaint comes later), or while the product
        changes, is not about the part in front of the camera either."""
        if self.tracker.shown(now).kind in NOT_LIVE:
            self.panel.verdict.mark_stale(now)

    def _draw_current(self, now: float) -> None:
        verdict = self.panel.verdict
        if verdict.held is not None and verdict.showing(now) is verdict.held and self._held_part is not None:
            record, image = self._held_part
        elif self.latest is not None and self.latest.frame is not None:
            record, image = self.latest.record, self.latest.frame.image
        else:
            return
        if record.id == self._drawn:
            return
        self._drawn = record.id
        kept = set(record.kept)
        boxes = [(d, d in kept) for d in record.detections]
        roi = self.recipe.roi if self.recipe is not None else None
        self.image.show_part(image, boxes, roi, record.anomaly_map)

    def words(self, record: InspectionRecord) -> list[str]:
        if self.recipe is None or not record.kept:
            return list(record.reasons)
        return in_words(record.kept, self.recipe, record.mm_per_px)

    # ------------------------------------------------------------ station and camera
    def show_stats(self, status: StationStatus) -> None:
        counts = status.counts
        self.live = (counts.parts, counts.failed)
        self.show_shift()
        self.panel.counters.show_rate(counts.parts_per_s)
        camera = status.camera
        self.tracker.camera(camera)
        self.panel.camera.setText(f"camera {self.camera_name}: {camera.state}, {camera.frames} frames")
        self.panel.faults.setText(fault_line(camera))
        self.tick()

    def show_shift(self) -> None:
        self.panel.counters.show_shift(self.tally.counts(*self.live))

    def rebase(self) -> None:
        """The shift counters from the database again (at a Start, after a stop)."""
        self.tally.rebase(*self.live, now=datetime.now(UTC))
        self.show_shift()

    def station_state(self, state: str, detail: str) -> None:
        self.on_state(state)  # first: the screen never says STOPPED while Start is still disabled
        now = time.monotonic()
        self.tracker.station(state, detail, now)
        if state == "starting":
            self.live = (0, 0)
        if state in ("stopped", "stopping"):
            self.panel.verdict.mark_stale(now)
        self.tick()

    def changing(self, product: str | None, detail: str) -> None:
        """The product is being switched to ``product`` (None: not any more)."""
        self.tracker.change_product(product, detail)
        if product is not None:
            self.panel.verdict.mark_stale(time.monotonic())
        self.tick()

    def product_change(self, product: str, phase: str, detail: str) -> None:
        """A changeover on the running station: CHANGING PRODUCT until it is ready or refused."""
        if phase == "started":
            self.changing(product, "finishing the parts in flight, loading the model")
            return
        self.changing(None, "")
        if phase == "ready":
            self.panel.say(f"Product {product} ready ({detail}).", "success")
        else:
            self.panel.say(f"Product not changed to {product}: {detail}. The station stays on the one it ran.", "error")

    def failed(self, message: str) -> None:
        self.tracker.failed(message)
        self.panel.verdict.mark_stale(time.monotonic())
        self.tick()

    def camera_fault(self, camera: str, message: str, counters: CameraCounts) -> None:
        self.tracker.camera(counters)
        self.panel.faults.setText(fault_line(counters))
        self.tick()

    def _line(self, source: str, message: str) -> None:
        self.tracker.line_fault(source, message, time.monotonic())
        self.tick()

    def _link(self, source: str, up: bool, message: str) -> None:
        self.tracker.line_link(source, up, message)
        self.tick()


def fault_line(counters: CameraCounts) -> str:
    parts = ", ".join(
        f"{name.replace('_', ' ')} {getattr(counters, name)}"
        for name in ("failed_grabs", "incomplete_buffers", "timeouts", "unreadable_images", "disconnects", "reconnects")
    )
    return f"faults: {counters.faults} ({parts})"
