"""``inspection plc map``: the Modbus register map of the PLC handshake, printed or as CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspection.cli.options import Commands
from inspection.config import load_station_config
from inspection.config.plc_registers import register_map_csv, register_map_rows
from inspection.core.errors import StationError


def add_commands(commands: Commands) -> None:
    plc = commands.add_parser(
        "plc", help="the PLC register map", description="The Modbus register map of the PLC handshake."
    )
    plc_actions = plc.add_subparsers(dest="plc_command", metavar="ACTION", required=True)
    plc_map = plc_actions.add_parser(
        "map",
        help="print the register map, or write it as CSV for the PLC programmer",
        description="Holding registers, 0-based addresses and the PLC's 4x numbers (40001 + address).",
    )
    plc_map.add_argument("--config", type=Path, help="station YAML whose plc section gives the block addresses")
    plc_map.add_argument("--csv", type=Path, help="write the map here as CSV")
    plc_map.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:

    input_base, output_base = 0, 100
    if args.config is not None:
        settings = load_station_config(args.config).plc
        if settings is None:
            raise StationError(f"{args.config}: no plc section; the station does not talk to a PLC")
        input_base, output_base = settings.input_base, settings.output_base
    if args.csv is not None:
        args.csv.write_text(register_map_csv(input_base, output_base))
        print(f"wrote {args.csv}")
        return 0
    for row in register_map_rows(input_base, output_base):
        print(
            f"{row['address']:>6} {row['plc_address']:>6} {row['words']:>2}  {row['direction']:15} {row['name']:20} "
            f"{row['meaning']}"
        )
    return 0
