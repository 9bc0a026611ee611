"""``inspection report``: write a shift report."""

from __future__ import annotations

from pathlib import Path

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
