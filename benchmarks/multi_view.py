"""Throughput of a part seen by two cameras against one, on the demo's model: pylon's two emulated cameras,
each view with its own copy of the model (configs/examples/two-camera-station.yaml), inspected one after
the other (``parallel_views: false``) or side by side (``true``).

    .venv/bin/python benchmarks/multi_view.py [--parts 100] [--rounds 2]

Prints parts/s and views/s of each, per round, and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

from inspection.config import DEMO_CONFIG, load_station_config
from inspection.station.pipeline import Station

EXAMPLE = DEMO_CONFIG.parent / "examples" / "two-camera-station.yaml"


def station_file(folder: Path, views: bool, parallel: bool) -> Path:
    source = EXAMPLE if views else DEMO_CONFIG
    config = yaml.safe_load(source.read_text())
    base = source.parent
    config["recipe"] = str((base / config["recipe"]).resolve())
    for view in config.get("views", {}).values():
        view["recipe"] = str((base / view["recipe"]).resolve())
        view["camera"]["image_folder"] = str((base / view["camera"]["image_folder"]).resolve())
    if "image_folder" in config.get("camera", {}):
        config["camera"]["image_folder"] = str((base / config["camera"]["image_folder"]).resolve())
    config["storage"] = {"data_dir": str(folder / "data")}
    config["pipeline"] = {**config.get("pipeline", {}), "parallel_views": parallel}
    path = folder / "station.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def measure(views: bool, parallel: bool, parts: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        station = Station(load_station_config(station_file(Path(folder), views, parallel)))
        try:
            return station.run(parts=parts).stats.parts_per_s
        finally:
            station.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    cases = {"one camera": (False, False), "two views, one after the other": (True, False),
             "two views, side by side": (True, True)}  # fmt: skip
    results: dict[str, list[float]] = {name: [] for name in cases}
    for number in range(args.rounds):
        for name, (views, parallel) in cases.items():
            rate = measure(views, parallel, args.parts)
            results[name].append(rate)
            print(f"round {number + 1}: {name}: {rate:.2f} parts/s ({rate * (2 if views else 1):.2f} views/s)")
    for name, rates in results.items():
        views = 2 if cases[name][0] else 1
        median = statistics.median(rates)
        print(f"{name}: median {median:.2f} parts/s, {median * views:.2f} views/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
