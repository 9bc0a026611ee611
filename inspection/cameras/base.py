"""The camera interface and the fault-tolerant wrapper every source runs inside."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace

from inspection.core.errors import CameraError, StationError
from inspection.core.status import CameraCounts
from inspection.core.types import Frame

log = logging.getLogger(__name__)


class GrabFailed(Exception):
    """One grab failed (incomplete buffer, timeout on a software trigger); the camera is still there."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class CameraLost(Exception):
    """The camera went away (unplugged, closed, network gone); it must be reopened."""


class EndOfStream(Exception):
    """A finite source (folder, video file) has no more frames."""


class CameraSource(ABC):
    """One camera. ``grab`` returns one frame: for a triggered source, one part.

    ``grab`` returns None when no part came within the timeout (hardware trigger idle), raises
    :class:`GrabFailed` for a bad frame, :class:`CameraLost` when the device is gone and
    :class:`EndOfStream` at the end of a finite source.
    """

    name: str = "camera"
    paced_by_station: bool = False  # True: a frame is taken only when asked for (software trigger, files)

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def grab(self) -> Frame | None: ...

    @abstractmethod
    def close(self) -> None: ...

    def adjustable(self) -> dict[str, Adjustable]:
        """The settings that can change on the open camera while it grabs (for a live preview): none by
        default; a pylon camera has exposure_us and gain."""
        return {}

    def adjust(self, name: str, value: float) -> float:
        """Set one of ``adjustable()`` on the open camera; returns the value the camera took."""
        raise CameraError(f"camera {self.name}: {name} cannot be changed while it runs")

    def settable(self) -> dict[str, Adjustable]:
        """What a product may set on the open camera between two parts (no grab under way): the live
        settings and, where the camera has one, its image region (``REGION_SETTINGS``)."""
        return self.adjustable()

    def apply(self, settings: dict[str, float]) -> None:
        """Set some of ``settable()`` between two parts (the caller checked them with ``settings_problem``)."""
        for name, value in settings.items():
            self.adjust(name, value)

    def configured(self) -> dict[str, float]:
        """The ``settable()`` values the station file gave the camera when it opened: what a product that
        does not name a setting gets back."""
        return {}


@dataclass(frozen=True)
class Adjustable:
    """One setting's range and value, in the station file's unit; ``step``: the increment a value must be
    a multiple of from ``minimum`` (0: any value)."""

    minimum: float
    maximum: float
    value: float
    step: float = 0.0


REGION_SETTINGS = ("width", "height", "offset_x", "offset_y")  # the image region, in sensor pixels


def settings_problem(settable: dict[str, Adjustable], wanted: dict[str, float]) -> str | None:
    """Why the camera cannot take ``wanted`` (names of ``settable``), or None: a value out of its range or
    off its increment, or a region that does not fit the sensor (offset + size beyond the largest size)."""
    for name, value in wanted.items():
        limits = settable[name]
        if not limits.minimum <= value <= limits.maximum:
            return f"{name} {value:g} is outside {limits.minimum:g}..{limits.maximum:g}"
        if limits.step > 0 and (value - limits.minimum) % limits.step:
            return f"{name} {value:g} is not {limits.minimum:g} plus a multiple of {limits.step:g}"
    for size, offset in (("width", "offset_x"), ("height", "offset_y")):
        if size in settable and offset in settable:
            end = wanted.get(offset, settable[offset].value) + wanted.get(size, settable[size].value)
            if end > settable[size].maximum:
                return f"{offset} + {size} = {end:g} is beyond the sensor's {settable[size].maximum:g}"
    return None


# What each kind of failed grab adds to the counters (any other kind: one failed grab).
_FAULT_COUNTERS: dict[str, dict[str, int]] = {
    "incomplete": {"incomplete_buffers": 1, "failed_grabs": 1},
    "timeout": {"timeouts": 1},
    "unreadable": {"unreadable_images": 1},
}


class ResilientCamera:
    """Runs a source so that faults never stop the station: count, back off, reopen, go on.

    The first ``open`` is strict: a camera that is not there at start-up is a configuration error.
    """

    def __init__(
        self,
        source: CameraSource,
        stop: threading.Event,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 5.0,
        max_consecutive_failures: int = 5,
    ) -> None:
        self.source = source
        self._status = CameraCounts()  # replaced whole under the lock: readers always see one moment
        self._stop = stop
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._max_failures = max_consecutive_failures
        self._delay = backoff_initial_s  # wait before the next reopen attempt
        self._lock = threading.Lock()
        self.on_lost: Callable[[], None] | None = None  # told at once (grab thread) when the camera is lost
        self.on_opened: Callable[[], None] | None = None  # after each (re)open: the product's camera settings
        self.on_back: Callable[[], None] | None = None  # told at once (grab thread) when a lost camera is back

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def status(self) -> CameraCounts:
        """The camera's state and fault counters now (a frozen value)."""
        return self._status

    def _record(self, increments: dict[str, int] | None = None, **values: object) -> None:
        """Add to counters and set fields, as one change."""
        with self._lock:
            current = self._status
            added = {name: getattr(current, name) + n for name, n in (increments or {}).items()}
            self._status = replace(current, **added, **values)  # type: ignore[arg-type]

    def open(self) -> None:
        self.source.open()
        self._record(state="open")
        if self.on_opened is not None:
            self.on_opened()  # at the first open, a failure is the station's start failing

    def close(self) -> None:
        try:
            self.source.close()
        finally:
            if self._status.state != "ended":
                self._record(state="closed")

    def next_frame(self) -> Frame | None:
        """The next good frame; None when stopping or when the stream has ended."""
        failures_in_a_row = 0
        while not self._stop.is_set():
            if self._status.state == "reconnecting" and not self._reopen():
                continue
            try:
                frame = self.source.grab()
            except EndOfStream:
                self._record(state="ended")
                return None
            except GrabFailed as exc:
                self._count(exc.kind, str(exc))
                if exc.kind == "unreadable":
                    continue  # a bad file says nothing about the camera
                failures_in_a_row += 1
                if failures_in_a_row >= self._max_failures:
                    self._lose(f"{failures_in_a_row} failed grabs in a row")
                    failures_in_a_row = 0
                continue
            except CameraLost as exc:
                self._lose(str(exc))
                continue
            if frame is None:
                continue  # idle: no trigger within the timeout
            self._record({"frames": 1})
            return frame
        return None

    def _count(self, kind: str, message: str) -> None:
        self._record(_FAULT_COUNTERS.get(kind, {"failed_grabs": 1}), last_fault=message)
        log.warning("%s: %s", self.name, message)

    def _lose(self, why: str) -> None:
        self._record({"disconnects": 1}, state="reconnecting", last_fault=f"camera lost: {why}")
        log.warning("%s: camera lost (%s); reconnecting", self.name, why)
        if self.on_lost is not None:
            self.on_lost()  # the screen shows the fault now, not at the next status tick
        try:
            self.source.close()
        except Exception:  # a vanished device may not close cleanly
            log.debug("close after loss failed", exc_info=True)
        self._delay = self._backoff_initial

    def _reopen(self) -> bool:
        delay = self._delay
        if self._stop.wait(delay):
            return False
        try:
            self.source.open()
        except (CameraError, CameraLost, GrabFailed, OSError, RuntimeError) as exc:
            self._delay = min(delay * 2, self._backoff_max)
            self._record(last_fault=f"reconnect failed: {exc}")
            log.info("%s: reconnect failed (%s); next try in %.1f s", self.name, exc, self._delay)
            return False
        self._record({"reconnects": 1}, state="open")
        log.info("%s: camera is back", self.name)
        if self.on_opened is not None:
            try:
                self.on_opened()
            except StationError as exc:
                self._record(last_fault=f"camera settings not set after the reconnect: {exc}")
                log.warning("%s: %s", self.name, exc)
        if self.on_back is not None:
            self.on_back()
        return True
