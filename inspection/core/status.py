"""The station's live status as typed, frozen values: what the CLI status line, the app's counters, the
events and the benchmarks read (attributes, not string keys)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Latency:
    """One stage's latency over the recent parts, in milliseconds."""

    median: float = 0.0
    p99: float = 0.0


@dataclass(frozen=True)
class PartCounts:
    """Parts since the station started, their rate and per-stage latencies."""

    parts: int = 0
    passed: int = 0
    failed: int = 0
    yield_pct: float | None = None
    parts_per_s: float = 0.0
    elapsed_s: float = 0.0
    latency_ms: Mapping[str, Latency] = field(default_factory=dict)
    overruns: int = 0  # a triggered frame had to wait for a full queue
    dropped_preview: int = 0  # live frames replaced by newer ones (never a triggered part)

    def latency(self, stage: str) -> Latency:
        return self.latency_ms.get(stage, Latency())


@dataclass(frozen=True)
class CameraCounts:
    """A camera's state and fault counters at one moment."""

    state: str = "closed"  # closed | open | reconnecting | ended
    frames: int = 0
    failed_grabs: int = 0
    incomplete_buffers: int = 0
    timeouts: int = 0
    unreadable_images: int = 0
    disconnects: int = 0
    reconnects: int = 0
    last_fault: str | None = None

    @property
    def faults(self) -> int:
        return self.failed_grabs + self.timeouts + self.unreadable_images + self.disconnects

    @property
    def lost(self) -> str | None:
        """Why the camera is away while it reconnects (its last fault); None while it is not away."""
        return (self.last_fault or "camera lost") if self.state == "reconnecting" else None


@dataclass(frozen=True)
class StationStatus:
    """Everything the station reports while it runs (twice a second, and once more at the end)."""

    counts: PartCounts
    camera: CameraCounts
    frames_queued: int = 0
    records_queued: int = 0
    records_written: int = 0
    records_pending: int = 0  # in the spill journal, waiting for the database
    events_dropped: int = 0
    images_pruned: int | None = None  # None: no retention policy
    plc: Mapping[str, int] | None = None  # the PLC handshake's counters, when there is one
    outputs: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # mqtt, fleet: their counters
