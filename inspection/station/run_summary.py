"""What a station's run did, returned by ``Station.run``."""

from __future__ import annotations

from dataclasses import dataclass, field

from inspection.core.status import CameraCounts, PartCounts


@dataclass
class RunSummary:
    stats: PartCounts
    camera: CameraCounts
    records_written: int
    records_pending: int  # still in the spill journal (the database refused them to the end): next start
    records_replayed: int  # left in the journal by an earlier run, written at this start
    reconciliation: str
    started_at: str
    database: str
    data_dir: str
    errors: list[str] = field(default_factory=list)
