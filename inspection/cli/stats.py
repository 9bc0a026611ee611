"""``inspection stats``: the numbers of a station's records (or any database URL) on the terminal or as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from inspection.cli.options import Commands, add_record_filters, add_record_source, record_filter
from inspection.quality.yield_stats import Grouping, statistics
from inspection.recorder.queries import RecordFilter
from inspection.station.records import open_records


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _value(value: object) -> str:
    return "—" if value is None else str(value)


def format_statistics(report: dict[str, Any]) -> str:
    totals = report["totals"]
    cycle = {key: _value(value) for key, value in totals["cycle_ms"].items()}
    lines = [
        f"parts {totals['parts']:,}  pass {totals['pass']:,}  fail {totals['fail']:,}  "
        f"first-pass yield {_pct(totals['first_pass_yield'])}  scrap rate {_pct(totals['scrap_rate'])}  "
        f"defects/unit {_value(totals['defects_per_unit'])}",
        f"cycle time ms: min {cycle['min']}  mean {cycle['mean']}  p50 {cycle['p50']}  p99 {cycle['p99']}  "
        f"max {cycle['max']}",
        "defect Pareto: " + (", ".join(f"{row['class']} {row['count']:,}" for row in report["pareto"]) or "none"),
        "",
        f"| {report['by']} | parts | pass | fail | yield | defects/unit | mean cycle ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for group in report["groups"]:
        lines.append(
            f"| {group['group']} | {group['parts']:,} | {group['pass']:,} | {group['fail']:,} | "
            f"{_pct(group['first_pass_yield'])} | {group['defects_per_unit']} | {group['cycle_ms']['mean']} |"
        )
    return "\n".join(lines)


def run_stats(config_path: Path, database: str | None, where: RecordFilter, by: Grouping, as_json: bool) -> int:
    config, engine = open_records(config_path, database)
    report = statistics(engine, where, by, config.shifts).as_dict()
    print(json.dumps(report) if as_json else format_statistics(report))
    return 0


def add_commands(commands: Commands) -> None:
    stats = commands.add_parser(
        "stats",
        help="yield, scrap rate, defect Pareto, cycle time",
        description=(
            "Production statistics of the filtered records, computed in the database: parts, pass, fail, "
            "first-pass yield, scrap rate (fails less reviewed false calls), defects per unit, the defect Pareto, "
            "cycle time min/mean/p50/p99/max, and the same counts by hour, shift (the station's shift calendar), "
            "day, recipe, model or station."
        ),
    )
    add_record_source(stats)
    stats.add_argument("--by", choices=["hour", "shift", "day", "recipe", "model", "station"], default="shift")
    stats.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_record_filters(stats)
    stats.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return run_stats(args.config, args.database, record_filter(args), args.by, args.json)
