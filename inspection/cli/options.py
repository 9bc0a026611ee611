"""What the command modules share: the type of the sub-command table they register into, and the options
of the quality commands (where records come from, which records)."""

from __future__ import annotations

import argparse
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TypeAlias

from inspection.config import DEMO_CONFIG, load_station_config
from inspection.core.errors import StationError
from inspection.ml.registry.store import DEFAULT_REGISTRY
from inspection.recorder.queries import RecordFilter

# The sub-command table of a parser; every command module's ``register`` adds its commands to one.
# (argparse has no public name for its type.)
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_record_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", help="ISO 8601 date/time (the plant's time, shifts.timezone, unless it names a zone)"
    )
    parser.add_argument("--until", help="ISO 8601 date/time, exclusive")
    parser.add_argument("--verdict", choices=["pass", "fail"])
    parser.add_argument("--label", help="records with a counted detection of this class")
    parser.add_argument("--serial", help="part serial contains this")
    parser.add_argument("--recipe-name", help="records made with this recipe name")
    parser.add_argument("--model", help="records made with this model (name or sha256 prefix)")


def add_record_source(parser: argparse.ArgumentParser, station_help: str | None = "records of this station") -> None:
    """Where a quality command reads records: the station's database, or another one by URL."""
    parser.add_argument("--config", type=Path, default=DEMO_CONFIG, help="the station (default: the demo)")
    parser.add_argument(
        "--database",
        help="a SQLAlchemy URL instead of the station's database, or 'fleet': the central database of the "
        "station's fleet section (every station's records; password from its environment variable)",
    )
    if station_help is not None:
        parser.add_argument("--station", help=station_help)


def moment(text: str | None, zone: tzinfo | None = None) -> datetime | None:
    """An ISO 8601 date or time; without a zone of its own it is a time in ``zone`` (None: this machine's)."""
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise StationError(f"{text!r}: not an ISO 8601 date or time (e.g. 2026-11-25 or 2026-11-25T06:00)") from None
    if parsed.tzinfo is not None:
        return parsed
    return parsed.replace(tzinfo=zone) if zone is not None else parsed.astimezone()


def record_filter(args: argparse.Namespace) -> RecordFilter:
    """The RecordFilter that the options of ``add_record_filters`` ask for. A time without a zone is the
    plant's local time: the zone of the station's shift calendar (``shifts.timezone``), else this machine's."""
    zone = load_station_config(args.config).shifts.zone() if args.since or args.until else None
    return RecordFilter(
        since=moment(args.since, zone),
        until=moment(args.until, zone),
        verdict=args.verdict,
        label=args.label,
        part_serial=args.serial,
        recipe=args.recipe_name,
        model=args.model,
        station=getattr(args, "station", None),
    )


def split_groups(text: str | None) -> set[str] | None:
    """``--val-groups a,b`` as a set (None when not given)."""
    return {group.strip() for group in text.split(",") if group.strip()} if text else None


REGISTRY_HELP = f"the model registry folder (default {DEFAULT_REGISTRY})"
