"""The frames waiting for detection, between the grab and the detect worker.

Overflow policy: a triggered frame is never dropped. When the queue is full, the grab worker waits (the
camera is not triggered again until there is room) and the wait is counted as an overrun. Frames of a
free-running live source keep only the newest one (drops counted). ``size`` slots bound the frames, so
the end marker can always be queued behind the last one. Several detect workers may take from it: each
frame comes with a ticket that says when its part finishes (``in_order.py``).
"""

from __future__ import annotations

import logging
import queue
import threading

from inspection.core.types import Frame
from inspection.station.changeover import PartGate
from inspection.station.in_order import InOrder
from inspection.station.live_stats import LiveStats

log = logging.getLogger(__name__)


class FrameQueue:
    def __init__(self, size: int, stats: LiveStats, gate: PartGate) -> None:
        self._frames: queue.Queue[Frame | None] = queue.Queue()
        self._slots = threading.Semaphore(size)
        self.order = InOrder()  # the parts' tickets: they finish in the order they are taken
        self._taking = threading.Lock()
        self.stats = stats
        self.gate = gate  # told of each frame queued and dropped (a changeover waits for them)

    def qsize(self) -> int:
        return self._frames.qsize()

    def wait_for_slot(self, stop: threading.Event) -> bool:
        """Paced sources (software trigger) are triggered only when the detector has room."""
        while not stop.is_set():
            if self._slots.acquire(timeout=0.2):
                return True
        return False

    def release_slot(self) -> None:
        """A slot taken by ``wait_for_slot`` that no frame will use."""
        self._slots.release()

    def put(self, frame: Frame, have_slot: bool) -> None:
        self.gate.entered()
        if have_slot or self._slots.acquire(blocking=False):
            self._frames.put(frame)
            return
        if not frame.triggered:  # live preview: the newest frame replaces the oldest waiting one
            try:
                self._frames.get_nowait()
                self.gate.left()
                self.stats.dropped_preview += 1
            except queue.Empty:
                pass
            self._frames.put(frame)  # takes over the dropped frame's slot
            return
        # A part arrived while detection is behind: it waits (never dropped) and the overrun is counted.
        self.stats.overruns += 1
        if self.stats.overruns == 1 or self.stats.overruns % 100 == 0:
            log.warning("overrun: detection is behind the camera (%d so far); parts wait", self.stats.overruns)
        self._slots.acquire()
        self._frames.put(frame)

    def end(self) -> None:
        """No more frames: the detect workers stop after the last one."""
        self._frames.put(None)

    def get(self) -> Frame | None:
        """The next frame (its slot freed); None at the end (left queued for the other workers)."""
        frame = self._frames.get()
        if frame is None:
            self._frames.put(None)
        else:
            self._slots.release()
        return frame

    def take(self) -> tuple[int, Frame] | None:
        """The next frame with its ticket (``order``), for one of several detect workers; None at the end."""
        with self._taking:
            frame = self.get()
            return None if frame is None else (self.order.ticket(), frame)

    def drain(self) -> None:
        """After a detector failure, keep the grab worker from blocking on a full queue."""
        while True:
            try:
                frame = self._frames.get(timeout=1.0)
            except queue.Empty:
                return
            if frame is None:
                self._frames.put(None)  # for the other workers
                return
            self._slots.release()
            self.gate.left()
