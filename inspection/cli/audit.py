"""``inspection audit verify``: check that the station's audit trail is whole (its keyed hash chain)."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspection.cli.options import Commands, add_record_source
from inspection.recorder.audit import KEY_FILE, key_folder, verify
from inspection.station.records import open_records


def verify_trail(config_path: Path, database: str | None) -> int:
    _config, engine = open_records(config_path, database)
    if key_folder(engine) is None:
        print(f"{engine.url.render_as_string()}: not chained (the chain's key lives beside a SQLite file)")
        return 1
    report = verify(engine)
    before = f" ({report.unchained} written before the chain began)" if report.unchained else ""
    if report.intact:
        print(f"audit trail intact: {report.entries} entries{before}")
        return 0
    print(f"audit trail BROKEN at entry {report.broken_at}: {report.problem} ({report.entries} entries{before})")
    return 1


def add_commands(commands: Commands) -> None:
    audit = commands.add_parser(
        "audit",
        help="check the audit trail",
        description=(
            "Check the station's audit trail: every entry is chained to the one before by a keyed hash (the key "
            f"in {KEY_FILE} beside the database), so an entry changed or deleted outside the station shows "
            "here, with the first entry that does not fit. Exit code 1 when the chain is broken."
        ),
    )
    add_record_source(audit, station_help=None)
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    actions.add_parser("verify", help="check every link of the chain")
    audit.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return verify_trail(args.config, args.database)
