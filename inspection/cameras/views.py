"""A part seen by several cameras: one trigger gives one frame per camera, grouped by the part's number.

Each camera has a worker thread that takes the part numbers asked for, newest first (a number whose part
was closed meanwhile is skipped: never a frame of one part under another's number), and grabs. ``grab``
asks every camera for the next part and waits up to the view timeout (from the trigger when the station
triggers; from the part's first view when the line does); a view without its frame by then is missing,
with the reason (the camera's last fault), and its late frame is dropped.

Where the cameras count their triggers (``Frame.trigger_id``: pylon's frame trigger counter chunk), frames
are matched by trigger as well: a view whose frame is of an earlier trigger than the part's grabs again
(the frame was left in the camera), one of a later trigger (the camera lost the part's frame after it
counted its trigger) keeps it for the next part and the part misses that view, with the reason; a frame
later than the view timeout is dropped when it is the closed part's and kept when it is a later trigger's.
Without counters, a line-triggered camera's frame that comes after its part closed is taken for the next
part's (the camera missed the part's trigger): right for a missed trigger, wrong for a frame slower than
the view timeout."""

from __future__ import annotations

import threading
import time

import numpy as np

from inspection.cameras.base import ResilientCamera
from inspection.core.types import Frame


class _ViewWorker:
    def __init__(self, name: str, camera: ResilientCamera, group: ViewGroup) -> None:
        self.name = name
        self.camera = camera
        self.group = group
        self.thread = threading.Thread(target=self._run, name=f"grab-{name}", daemon=True)

    def _run(self) -> None:
        group = self.group
        while True:
            part = group.next_request(self.name)
            if part is None:
                return
            frame = group.take_early(self.name)
            while True:
                if frame is None:
                    frame = self.camera.next_frame()  # triggers by software, waits; reconnects a lost camera
                if group.deliver(self.name, part, frame):
                    break
                frame = None  # an earlier trigger's frame, left in the camera: the next one is this part's


class ViewGroup:
    def __init__(self, cameras: dict[str, ResilientCamera], timeout_s: float, stop: threading.Event) -> None:
        self.cameras = cameras
        self.timeout_s = timeout_s
        self._stop = stop
        self._cond = threading.Condition()
        self._asked: dict[str, int] = dict.fromkeys(cameras, 0)  # the part number each camera should grab
        self._done: dict[str, int] = dict.fromkeys(cameras, 0)  # the part number each camera last grabbed
        self._frames: dict[str, Frame | str | None] = {}  # str: why the view has no frame
        self._part = 0
        self._key: int | None = None  # the part's trigger (relative to each camera's count), from its first frame
        self._last_key = -1  # the last part's trigger
        self._early: dict[str, Frame] = {}  # a view's frame of a later trigger, kept for the next part
        self._base: dict[str, tuple[int, int]] = {}  # camera -> (its count at trigger 0, its reconnects then)
        self._closed = False
        self.missing = dict.fromkeys(cameras, 0)  # parts each view missed
        self._workers = [_ViewWorker(name, camera, self) for name, camera in cameras.items()]

    @property
    def paced_by_station(self) -> bool:
        return all(camera.source.paced_by_station for camera in self.cameras.values())

    def open(self) -> None:
        for camera in self.cameras.values():
            camera.open()
        for worker in self._workers:
            worker.thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for camera in self.cameras.values():
            camera.close()
        for worker in self._workers:
            worker.thread.join(timeout=5)

    # ------------------------------------------------------------ the workers' side
    def next_request(self, name: str) -> int | None:
        with self._cond:
            while not self._closed and not self._stop.is_set() and self._asked[name] <= self._done[name]:
                self._cond.wait(0.2)
            if self._closed or self._stop.is_set():
                return None
            self._done[name] = self._asked[name]  # the newest part asked for; older ones are closed
            return self._done[name]

    def take_early(self, name: str) -> Frame | None:
        """A frame this view grabbed for a later trigger than its part's, now its next part's."""
        with self._cond:
            return self._early.pop(name, None)

    def deliver(self, name: str, part: int, frame: Frame | None) -> bool:
        """One view's frame for ``part``; False when it belongs to an earlier trigger than the part's (the
        worker grabs again). A later trigger's frame waits for the next part; this part misses the view."""
        with self._cond:
            key = self._trigger_key(name, frame)
            if part != self._part or name in self._frames:
                self._late(name, key, frame)
                return True
            if key is not None and self._key is not None and key != self._key:
                if key < self._key:
                    return False
                assert frame is not None
                self._early[name] = frame
                self._frames[name] = f"its frame is of trigger {key}, the part's is {self._key}: a trigger missed"
            else:
                self._key = key if self._key is None else self._key
                self._frames[name] = frame
            self._cond.notify_all()
            return True

    def _late(self, name: str, key: int | None, frame: Frame | None) -> None:
        """A frame for a part closed without it: of a later trigger (the camera counts: a higher one; it
        does not, and the line triggers it: any frame after the part closed), it is the next part's;
        else it is the closed part's, late, and dropped."""
        later = key > self._last_key if key is not None else not self.paced_by_station
        if later and frame is not None:
            self._early[name] = frame

    def _trigger_key(self, name: str, frame: Frame | None) -> int | None:
        """The frame's trigger counted from the cameras' common start (None: the camera counts none).
        A camera's first frame, and its first after a reconnect (its count may start again), joins the
        part's trigger."""
        if frame is None or frame.trigger_id is None:
            return None
        reconnects = self.cameras[name].status.reconnects
        base = self._base.get(name)
        if base is None or base[1] != reconnects:
            joins = self._key if self._key is not None else self._last_key + 1
            base = (frame.trigger_id - joins, reconnects)
            self._base[name] = base
        return frame.trigger_id - base[0]

    # ------------------------------------------------------------ the station's grab loop
    def grab(self) -> Frame | None:
        """The next part's frames: the first view's frame carrying every view's (or why it has none);
        None when stopping, or when every view's stream has ended."""
        with self._cond:
            self._part += 1
            self._frames = {}
            self._key = None
            for name in self.cameras:
                self._asked[name] = self._part
            self._cond.notify_all()
            # Triggered by the station, the views are due now; triggered by the line (hardware), a part is
            # there once its first view came: the others are waited for from then on.
            paced = self.paced_by_station
            deadline = time.monotonic() + self.timeout_s if paced else None
            while len(self._frames) < len(self.cameras) and not self._stop.is_set():
                if deadline is None and self._frames:
                    deadline = time.monotonic() + self.timeout_s
                left = 0.2 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
            frames, self._frames = self._frames, {}
            self._last_key = self._key if self._key is not None else self._last_key
        return self._group(frames)

    def _group(self, frames: dict[str, Frame | str | None]) -> Frame | None:
        if self._stop.is_set() and len(frames) < len(self.cameras):
            return None
        ended = all(frame is None for frame in frames.values())
        if frames and ended and len(frames) == len(self.cameras):
            return None  # every stream ended (image folders replayed to the end)
        views: dict[str, Frame | str] = {}
        for name, camera in self.cameras.items():
            frame = frames.get(name)
            if isinstance(frame, Frame):
                views[name] = frame
                continue
            self.missing[name] += 1
            fault = camera.status.last_fault or "no fault reported"
            views[name] = frame or f"no image within {self.timeout_s * 1000:.0f} ms ({fault})"
        first = next((v for v in views.values() if isinstance(v, Frame)), None)
        if first is None:  # no view at all: a frame without an image still makes the part's record
            first = Frame(image=_EMPTY, camera="+".join(self.cameras), index=self._part)
        grab_ms = max((frame.grab_ms for frame in views.values() if isinstance(frame, Frame)), default=0.0)
        return Frame(
            image=first.image, camera="+".join(self.cameras), index=self._part, timestamp=first.timestamp,
            source_name=first.source_name, grab_ms=grab_ms, views=views,
        )  # fmt: skip


_EMPTY = np.zeros((1, 1), dtype=np.uint8)
