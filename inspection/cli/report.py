"""``inspection report``: write a shift report."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspection.cli.options import Commands, add_record_source
from inspection.quality.report import ReportFormat, build_report, parse_shift, write_report
from inspection.station.records import open_records


def run_report(
    config_path: Path, database: str | None, shift: str, station: str | None, fmt: ReportFormat, out: Path
) -> int:
    config, engine = open_records(config_path, database)
    day, name = parse_shift(shift, config.shifts)
    report = build_report(engine, config.storage.data_dir, station or config.station, config.shifts, day, name)
    write_report(report, out, fmt)
    parts = report.stats.totals.parts
    print(f"shift {report.shift} ({parts:,} parts, {len(report.alerts)} alerts) written to {out}")
    return 0


def add_commands(commands: Commands) -> None:
    report = commands.add_parser(
        "report",
        help="a shift report (HTML or PDF)",
        description=(
            "Write a shift report a manager opens without the app: the shift's numbers, the defect Pareto, the "
            "p-chart per hour (limits from the week before), the worst parts with their boxes, alerts and reviews."
        ),
    )
    report.add_argument("--shift", default="last", help="last (default), current, or YYYY-MM-DD:NAME")
    report.add_argument("--format", choices=["html", "pdf"], default="pdf")
    report.add_argument("--out", type=Path, required=True, help="the file to write")
    add_record_source(report, station_help="only this station's records (default: the config's station)")
    report.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return run_report(args.config, args.database, args.shift, args.station, args.format, args.out)
