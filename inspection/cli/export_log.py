"""``inspection export-log``: the defect log of a station (or any database URL) to a file or folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspection.cli.options import Commands, add_record_filters, add_record_source, record_filter
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


def add_commands(commands: Commands) -> None:
    export_log = commands.add_parser(
        "export-log",
        help="export inspections and detections (CSV, Excel, Parquet, JSON lines)",
        description=(
            "Export the filtered inspections and their detections, streamed (a million records never sit in "
            "memory): csv and parquet write a folder (inspections, detections, summary), xlsx one workbook "
            "(sheets inspections, detections, summary), jsonl one inspection per line with its detections. "
            "Times are ISO 8601 with zone. --images adds a zip of the records' images with a manifest."
        ),
    )
    export_log.add_argument("--out", type=Path, required=True, help="new folder (csv, parquet) or file (xlsx, jsonl)")
    export_log.add_argument("--format", required=True, choices=["csv", "xlsx", "parquet", "jsonl"])
    add_record_source(export_log)
    export_log.add_argument("--images", action="store_true", help="also a zip of the images, with a manifest")
    add_record_filters(export_log)
    export_log.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return run_export_log(args.config, args.database, args.out, args.format, record_filter(args), args.images)
