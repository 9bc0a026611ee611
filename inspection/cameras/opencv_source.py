"""OpenCV sources: USB device index, video file, RTSP/HTTP stream.

Live sources (a device index or a URL) are read by a background thread that keeps only the latest
frame, so a slow station never builds a backlog; a video file is read frame by frame (each frame a part).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import cv2

from inspection.cameras.base import CameraLost, CameraSource, EndOfStream, GrabFailed
from inspection.config import OpenCvCamera
from inspection.core.errors import CameraError
from inspection.core.types import Frame, Image


def is_live(source: int | str) -> bool:
    return isinstance(source, int) or "://" in str(source)


class OpenCvSource(CameraSource):
    def __init__(self, config: OpenCvCamera) -> None:
        self.config = config
        self.name = f"opencv:{config.source}"
        self._capture: Any = None
        self._index = 0
        self._latest: Image | None = None
        self._latest_seq = 0
        self._taken_seq = 0
        self._failed = False
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None
        self._running = False
        self.skipped_frames = 0  # live frames replaced by a newer one before the station took them
        self.paced_by_station = not is_live(config.source)  # a video file is read one frame per part

    def open(self) -> None:
        source = self.config.source
        if not is_live(source) and not Path(str(source)).is_file():
            raise CameraError(f"{source}: video file not found")
        capture = cv2.VideoCapture(source)
        if not capture.isOpened():
            raise CameraError(f"cannot open OpenCV source {source!r}; check the device index, path or URL")
        if self.config.width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.config.width)
        if self.config.height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.config.height)
        if self.config.frame_rate:
            capture.set(cv2.CAP_PROP_FPS, self.config.frame_rate)
        self._capture = capture
        self._failed = False
        if is_live(source):
            self._running = True
            self._reader = threading.Thread(target=self._read_latest, name="opencv-reader", daemon=True)
            self._reader.start()

    def _read_latest(self) -> None:
        while self._running:
            ok, image = self._capture.read()
            with self._cond:
                if not ok:
                    self._failed = True
                    self._cond.notify_all()
                    return
                self._latest = image
                self._latest_seq += 1
                self._cond.notify_all()

    def grab(self) -> Frame | None:
        if self._capture is None:
            raise CameraLost("not open")
        started = time.perf_counter()
        if self._reader is None:
            ok, image = self._capture.read()
            if not ok:
                if self.config.loop:
                    self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    ok, image = self._capture.read()
                if not ok:
                    raise EndOfStream()
        else:
            with self._cond:
                self._cond.wait_for(lambda: self._latest_seq > self._taken_seq or self._failed, timeout=2.0)
                if self._failed:
                    raise CameraLost("stream ended or device gone")
                if self._latest is None or self._latest_seq == self._taken_seq:
                    raise GrabFailed("timeout", "no new frame from the stream within 2 s")
                self.skipped_frames += self._latest_seq - self._taken_seq - 1
                image, self._taken_seq = self._latest, self._latest_seq
        self._index += 1
        return Frame(
            image=image,
            camera=self.name,
            index=self._index,
            triggered=self._reader is None,
            grab_ms=(time.perf_counter() - started) * 1000,
        )

    def close(self) -> None:
        self._running = False
        if self._reader is not None:
            self._reader.join(timeout=2.0)
            self._reader = None
        if self._capture is not None:
            self._capture.release()
            self._capture = None
