"""``inspection stats``: the numbers of a station's records (or any database URL) on the terminal or as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
