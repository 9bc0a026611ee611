"""Live statistics: parts/s, yield, per-stage latency (median, p99), queue depths, drops."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from inspection.core.status import Latency, PartCounts

WINDOW = 2000


def percentiles(values: list[float] | deque[float]) -> Latency:
    """Median and 99th percentile, rounded to 0.01 ms."""
    if not values:
        return Latency()
    data = np.asarray(values, dtype=np.float64)
    return Latency(round(float(np.median(data)), 2), round(float(np.percentile(data, 99)), 2))


class LiveStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.perf_counter()
        self.finished: float | None = None  # set when the last record is committed
        self.parts = 0
        self.passed = 0
        self.failed = 0
        self.overruns = 0  # a triggered frame had to wait for a full queue
        self.dropped_preview = 0  # live frames replaced by newer ones (never a triggered part)
        self._latency: dict[str, deque[float]] = {}
        self._done_times: deque[float] = deque(maxlen=200)

    def add_part(self, verdict: str, latencies_ms: dict[str, float]) -> None:
        with self._lock:
            self.parts += 1
            if verdict == "pass":
                self.passed += 1
            else:
                self.failed += 1
            for stage, value in latencies_ms.items():
                self._latency.setdefault(stage, deque(maxlen=WINDOW)).append(value)
            self._done_times.append(time.perf_counter())

    def add_latency(self, stage: str, value_ms: float) -> None:
        with self._lock:
            self._latency.setdefault(stage, deque(maxlen=WINDOW)).append(value_ms)

    def parts_per_second(self) -> float:
        with self._lock:
            times = list(self._done_times)
        if len(times) >= 2 and times[-1] > times[0]:
            return (len(times) - 1) / (times[-1] - times[0])
        elapsed = time.perf_counter() - self.started
        return self.parts / elapsed if elapsed > 0 else 0.0

    def snapshot(self) -> PartCounts:
        with self._lock:
            latency = {stage: percentiles(values) for stage, values in self._latency.items()}
            parts, passed, failed = self.parts, self.passed, self.failed
        return PartCounts(
            parts=parts,
            passed=passed,
            failed=failed,
            yield_pct=round(100.0 * passed / parts, 2) if parts else None,
            parts_per_s=round(self.parts_per_second(), 3),
            elapsed_s=round((self.finished or time.perf_counter()) - self.started, 3),
            latency_ms=latency,
            overruns=self.overruns,
            dropped_preview=self.dropped_preview,
        )
