"""``inspection stats``: the numbers of a station's records (or any database URL) on the terminal or as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from inspection.cli.options import Commands, add_record_filters, add_record_source, record_filter
from inspection.quality.oee import add_oee, oee_groups
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
        f"OEE {_pct(report['oee'])} = availability {_pct(report['availability'])} x performance "
        f"{_pct(report['performance'])} x quality {_pct(report['quality'])}; MTTR {_seconds(report['mttr_s'])}, "
        f"MTBF {_seconds(report['mtbf_s'])} over {report['faults']} fault(s)",
        f"planned {_seconds(report['planned_s'])}: running {_seconds(report['running_s'])}, faults "
        f"{_seconds(report['fault_s'])}, changeovers {_seconds(report['changeover_s'])}; outputs out of reach "
        f"{_seconds(report['output_fault_s'])}",
        "",
        f"| {report['by']} | parts | pass | fail | yield | defects/unit | mean cycle ms | availability | OEE |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for group in report["groups"]:
        lines.append(
            f"| {group['group']} | {group['parts']:,} | {group['pass']:,} | {group['fail']:,} | "
            f"{_pct(group['first_pass_yield'])} | {group['defects_per_unit']} | {group['cycle_ms']['mean']} | "
            f"{_pct(group.get('availability'))} | {_pct(group.get('oee'))} |"
        )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.1f} s"
    minutes = value / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{minutes / 60:.2f} h"


def run_stats(
    config_path: Path,
    database: str | None,
    where: RecordFilter,
    by: Grouping,
    as_json: bool,
    ideal_cycle_s: float | None = None,
) -> int:
    config, engine = open_records(config_path, database)
    report = statistics(engine, where, by, config.shifts).as_dict()
    totals, groups = oee_groups(engine, where, by, config.shifts, ideal_cycle_s)
    add_oee(report, totals, groups, config.shifts)
    print(json.dumps(report) if as_json else format_statistics(report))
    return 0


def add_commands(commands: Commands) -> None:
    stats = commands.add_parser(
        "stats",
        help="yield, scrap rate, defect Pareto, cycle time",
        description=(
            "Production statistics of the filtered records, computed in the database: parts, pass, fail, "
            "first-pass yield, scrap rate (fails less reviewed false calls), defects per unit, the defect Pareto, "
            "cycle time min/mean/p50/p99/max; OEE (availability x performance x quality), MTTR and MTBF from the "
            "station's state periods; and the same by hour, shift (the station's shift calendar), day, recipe "
            "(product), model or station."
        ),
    )
    add_record_source(stats)
    stats.add_argument("--by", choices=["hour", "shift", "day", "recipe", "model", "station"], default="shift")
    stats.add_argument("--json", action="store_true", help="one JSON object on stdout")
    stats.add_argument(
        "--ideal-cycle-s",
        type=float,
        metavar="S",
        help="ideal cycle time (s per part) for OEE's performance; default: each recipe's ideal_cycle_s",
    )
    add_record_filters(stats)
    stats.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return run_stats(args.config, args.database, record_filter(args), args.by, args.json, args.ideal_cycle_s)
