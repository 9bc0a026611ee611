"""``inspection spc``: a control chart of a station's records with the run rules that fire."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from inspection.cli.options import Commands, add_record_filters, add_record_source, moment, record_filter
from inspection.config.alert_rules import RULES
from inspection.config.shifts import ShiftCalendar
from inspection.core.errors import StationError
from inspection.quality.spc import Chart, ChartKind, Subgroup, by_parts, by_time, chart
from inspection.recorder.queries import RecordFilter
from inspection.station.records import open_records


def subgroups(
    engine: Engine, where: RecordFilter, spec: str, calendar: ShiftCalendar, kind: ChartKind, label: str | None
) -> list[Subgroup]:
    if spec in ("hour", "shift"):
        return by_time(engine, where, spec, calendar, kind, label)  # type: ignore[arg-type]
    if spec.startswith("parts:") and spec[6:].isdigit():
        return by_parts(engine, where, int(spec[6:]), kind, label)
    raise StationError(f"--subgroup {spec!r}: use hour, shift or parts:N (e.g. parts:200)")


def baseline_of(
    where: RecordFilter, spec: str, groups: list[Subgroup], make: Callable[[RecordFilter], list[Subgroup]]
) -> list[Subgroup]:
    """The first K subgroups, or the subgroups of a time range (SINCE..UNTIL)."""
    if spec.isdigit():
        count = int(spec)
        if count < 2 or count > len(groups):
            raise StationError(f"--baseline {count}: there are {len(groups)} subgroups; use 2 to {len(groups)}")
        return groups[:count]
    since, _, until = spec.partition("..")
    try:
        bounds = [moment(t) if t else None for t in (since, until)]
    except StationError:
        raise StationError(f"--baseline {spec!r}: a number of subgroups, or SINCE..UNTIL in ISO 8601") from None
    found = make(replace(where, since=bounds[0], until=bounds[1]))
    if not found:
        raise StationError(f"--baseline {spec}: no parts in that range")
    return found


def format_chart(result: Chart) -> str:
    title = "fail fraction" if result.kind == "p" else "defects per unit"
    lines = [
        f"{result.kind}-chart of the {title}: centre {result.centre:.4f} from {result.baseline_subgroups} baseline "
        "subgroups",
        "",
        "| subgroup | parts | value | LCL | UCL | z | rules |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for point in result.points:
        lines.append(
            f"| {point.subgroup.label} | {point.subgroup.units} | {point.value:.4f} | {point.lower:.4f} | "
            f"{point.upper:.4f} | {point.z:+.2f} | {', '.join(point.rules)} |"
        )
    fired = sorted({rule for _, rule in result.firing()})
    lines += ["", *(f"{rule}: {RULES[rule]}" for rule in fired)] if fired else ["", "no rule fires"]
    return "\n".join(lines)


def chart_json(result: Chart) -> dict[str, Any]:
    return {
        "kind": result.kind,
        "centre": result.centre,
        "baseline_subgroups": result.baseline_subgroups,
        "points": [
            {
                "subgroup": p.subgroup.label,
                "start": p.subgroup.start.isoformat() if p.subgroup.start else None,
                "units": p.subgroup.units,
                "count": p.subgroup.count,
                "value": p.value,
                "lcl": p.lower,
                "ucl": p.upper,
                "z": p.z,
                "rules": list(p.rules),
            }
            for p in result.points
        ],
    }


def run_spc(
    config_path: Path,
    database: str | None,
    where: RecordFilter,
    kind: ChartKind,
    label: str | None,
    subgroup: str,
    baseline: str,
    as_json: bool,
) -> int:
    config, engine = open_records(config_path, database)

    def make(filter_: RecordFilter) -> list[Subgroup]:
        return subgroups(engine, filter_, subgroup, config.shifts, kind, label)

    groups = make(where)
    if not groups:
        raise StationError("no complete subgroups in the selected records")
    try:
        result = chart(kind, groups, baseline_of(where, baseline, groups, make))
    except ValueError as exc:
        raise StationError(str(exc)) from None
    print(json.dumps(chart_json(result)) if as_json else format_chart(result))
    return 0


def add_commands(commands: Commands) -> None:
    spc = commands.add_parser(
        "spc",
        help="control charts (p, u) with Western Electric / Nelson rules",
        description=(
            "A p-chart of the fail fraction, or a u-chart of counted defects per unit (all classes or one), per "
            "hour, shift or run of N parts, with 3-sigma limits from a baseline (the first K subgroups, or a time "
            "range), and the run rules that fire at each subgroup."
        ),
    )
    add_record_source(spc)
    spc.add_argument("--chart", choices=["p", "u"], default="p", help="p: fail fraction (default); u: defects per unit")
    spc.add_argument("--class", dest="label_chart", help="u-chart of this defect class only")
    spc.add_argument("--subgroup", default="hour", help="hour (default), shift, or parts:N")
    spc.add_argument(
        "--baseline", default="24", help="the first K subgroups (default 24), or SINCE..UNTIL (ISO 8601 times)"
    )
    spc.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_record_filters(spc)
    spc.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    where = record_filter(args)
    return run_spc(
        args.config, args.database, where, args.chart, args.label_chart, args.subgroup, args.baseline, args.json
    )
