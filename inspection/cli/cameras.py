"""``inspection cameras``: list reachable cameras."""

from __future__ import annotations

import json
from pathlib import Path

from inspection.cameras.pylon import enable_emulation, list_pylon_cameras


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
