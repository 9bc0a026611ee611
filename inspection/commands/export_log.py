"""``inspection export-log``: the defect log of a station (or any database URL) to a file or folder."""

from __future__ import annotations

import sys
from pathlib import Path

from inspection.config import load_station_config
from inspection.export_log import Format, export_log
from inspection.recorder.database import open_database, open_station_database
from inspection.recorder.queries import RecordFilter


def run_export_log(
    config_path: Path, database: str | None, out: Path, fmt: Format, where: RecordFilter, images: bool
) -> int:
    config = load_station_config(config_path)
    engine = open_database(database) if database else open_station_database(config.storage)

    def progress(done: int) -> None:
        if done % 100_000 < 2000:
            print(f"exported {done:,} inspections", file=sys.stderr, flush=True)

    summary = export_log(engine, where, out, fmt, config.storage.data_dir, images, progress)
    print(
        f"{summary.inspections:,} inspections ({summary.passed:,} pass) and {summary.detections:,} detections "
        f"written to {out}"
    )
    return 0
