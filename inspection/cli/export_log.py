"""``inspection export-log``: the defect log of a station (or any database URL) to a file or folder."""

from __future__ import annotations

import sys
from pathlib import Path

from inspection.recorder.queries import RecordFilter
from inspection.recorder.record_export import Format, export_log
from inspection.station.records import open_records


def run_export_log(
    config_path: Path, database: str | None, out: Path, fmt: Format, where: RecordFilter, images: bool
) -> int:
    config, engine = open_records(config_path, database)

    def progress(done: int) -> None:
        if done % 100_000 < 2000:
            print(f"exported {done:,} inspections", file=sys.stderr, flush=True)

    summary = export_log(engine, where, out, fmt, config.storage.data_dir, images, progress)
    print(
        f"{summary.inspections:,} inspections ({summary.passed:,} pass) and {summary.detections:,} detections "
        f"written to {out}"
    )
    return 0
