"""``inspection cameras``: list reachable cameras."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inspection.cameras.pylon import enable_emulation, list_pylon_cameras
from inspection.cli.options import Commands


def list_cameras(emulated: int, as_json: bool, emulator_only: bool = False) -> int:
    enable_emulation(emulated)
    cameras: list[dict[str, str]] = [{"type": "pylon", **c} for c in list_pylon_cameras(emulator_only)]
    cameras += [
        {"type": "opencv", "source": str(i), "device": str(p)}
        for i, p in enumerate(sorted(Path("/dev").glob("video[0-9]*")))
    ]
    if as_json:
        print(json.dumps(cameras, indent=2))
        return 0
    if not cameras:
        print("no cameras found (for the pylon emulator: inspection cameras --emulated 2)")
        return 0
    for camera in cameras:
        if camera["type"] == "pylon":
            print(
                f"pylon   serial {camera['serial']:<12} model {camera['model']:<24} "
                f"user name {camera['user_name'] or '-':<12} {'(emulated)' if camera['emulated'] == 'true' else ''}"
            )
        else:
            print(f"opencv  index {camera['source']:<4} {camera['device']}")
    return 0


def add_commands(commands: Commands) -> None:
    cameras = commands.add_parser(
        "cameras",
        help="list reachable cameras",
        description=("List Basler (pylon) cameras, emulated ones included, and local video devices."),
    )
    cameras.add_argument(
        "--emulated", type=int, default=0, metavar="N", help="also create N pylon emulated cameras (PYLON_CAMEMU)"
    )
    cameras.add_argument(
        "--emulator-only",
        action="store_true",
        help="look only at pylon's emulator (no GigE discovery broadcast on the network)",
    )
    cameras.add_argument("--json", action="store_true", help="JSON on stdout")
    cameras.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return list_cameras(args.emulated, args.json, args.emulator_only)
