"""A part seen by several cameras: one trigger gives one frame per camera, grouped by the part's number.

Each camera has a worker thread that takes the part numbers asked for, newest first (a number whose part
was closed meanwhile is skipped: never a frame of one part under another's number), and grabs. ``grab``
asks every camera for the next part and waits up to the view timeout; a view without its frame by then is
missing, with the reason (the camera's last fault), and its late frame is dropped."""

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
            frame = self.camera.next_frame()  # triggers by software, waits; reconnects a lost camera
            group.deliver(self.name, part, frame)


class ViewGroup:
    def __init__(self, cameras: dict[str, ResilientCamera], timeout_s: float, stop: threading.Event) -> None:
        self.cameras = cameras
        self.timeout_s = timeout_s
        self._stop = stop
        self._cond = threading.Condition()
        self._asked: dict[str, int] = dict.fromkeys(cameras, 0)  # the part number each camera should grab
        self._done: dict[str, int] = dict.fromkeys(cameras, 0)  # the part number each camera last grabbed
        self._frames: dict[str, Frame | None] = {}
        self._part = 0
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

    def deliver(self, name: str, part: int, frame: Frame | None) -> None:
        with self._cond:
            if part == self._part and name not in self._frames:
                self._frames[name] = frame
                self._cond.notify_all()
            # else: the part was closed without this view (missing); its late frame is dropped

    # ------------------------------------------------------------ the station's grab loop
    def grab(self) -> Frame | None:
        """The next part's frames: the first view's frame carrying every view's (or why it has none);
        None when stopping, or when every view's stream has ended."""
        with self._cond:
            self._part += 1
            self._frames = {}
            for name in self.cameras:
                self._asked[name] = self._part
            self._cond.notify_all()
            deadline = time.monotonic() + self.timeout_s
            while len(self._frames) < len(self.cameras) and not self._stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
            frames, self._frames = self._frames, {}
        return self._group(frames)

    def _group(self, frames: dict[str, Frame | None]) -> Frame | None:
        if self._stop.is_set() and len(frames) < len(self.cameras):
            return None
        if frames and all(frame is None for frame in frames.values()) and len(frames) == len(self.cameras):
            return None  # every stream ended (image folders replayed to the end)
        views: dict[str, Frame | str] = {}
        for name, camera in self.cameras.items():
            frame = frames.get(name)
            if frame is None:
                self.missing[name] += 1
                fault = camera.status.last_fault or "no fault reported"
                views[name] = f"no image within {self.timeout_s * 1000:.0f} ms ({fault})"
            else:
                views[name] = frame
        first = next((v for v in views.values() if isinstance(v, Frame)), None)
        if first is None:  # no view at all: a frame without an image still makes the part's record
            first = Frame(image=_EMPTY, camera="+".join(self.cameras), index=self._part)
        grab_ms = max((frame.grab_ms for frame in views.values() if isinstance(frame, Frame)), default=0.0)
        return Frame(
            image=first.image, camera="+".join(self.cameras), index=self._part, timestamp=first.timestamp,
            source_name=first.source_name, grab_ms=grab_ms, views=views,
        )  # fmt: skip


_EMPTY = np.zeros((1, 1), dtype=np.uint8)
