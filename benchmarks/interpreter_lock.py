"""What a line output's Python work costs the demo station, on a thread of its process against the same
work in another process: why MQTT, fleet and OPC UA run in a process of their own (``pipeline.outputs_process``).

    .venv/bin/python benchmarks/interpreter_lock.py [--parts 300] [--rounds 6] [--work-ms 1] [--every-ms 20]

Each round runs the demo station three times (order alternating): alone; with a thread in its process
that spends ``--work-ms`` of CPU in Python every ``--every-ms`` (as an output does per part); with the
same work in another process. Prints the throughput of each and the median ratios to "alone".
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from inspection.config import DEMO_CONFIG, DEMO_RECIPE, load_station_config
from inspection.station.pipeline import Station


def python_work(stop: Any, work_s: float, every_s: float) -> None:
    """``work_s`` of CPU in the interpreter, then a pause of ``every_s``, until stopped."""
    while not stop.is_set():
        began = time.thread_time()
        while time.thread_time() - began < work_s:
            sum(range(200))
        time.sleep(every_s)


def station_file(folder: Path) -> Path:
    config = yaml.safe_load(DEMO_CONFIG.read_text())
    config["recipe"] = str(DEMO_RECIPE)
    config["camera"]["image_folder"] = str((DEMO_CONFIG.parent / config["camera"]["image_folder"]).resolve())
    config["storage"] = {"data_dir": str(folder / "data")}
    path = folder / "station.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def one_run(where: str, args: argparse.Namespace) -> float:
    """Parts per second of the demo station with the work ``where`` (none, thread or process)."""
    work = (args.work_ms / 1000, args.every_ms / 1000)
    stop: Any = multiprocessing.Event() if where == "process" else threading.Event()
    if where == "thread":
        threading.Thread(target=python_work, args=(stop, *work), daemon=True).start()
    elif where == "process":
        multiprocessing.Process(target=python_work, args=(stop, *work), daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            station = Station(load_station_config(station_file(Path(folder))))
            try:
                return station.run(parts=args.parts).stats.parts_per_s
            finally:
                station.close()
    finally:
        stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--work-ms", type=float, default=1.0, help="CPU in Python per burst")
    parser.add_argument("--every-ms", type=float, default=20.0, help="pause between bursts")
    args = parser.parse_args()
    speeds: dict[str, list[float]] = {"alone": [], "thread": [], "process": []}
    order = ["none", "thread", "process"]
    for number in range(args.rounds):
        for where in order if number % 2 == 0 else order[::-1]:
            speeds["alone" if where == "none" else where].append(one_run(where, args))
        print(f"round {number + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in speeds.items()), flush=True)
    alone = statistics.median(speeds["alone"])
    for where in ("thread", "process"):
        ratio = statistics.median(speeds[where]) / alone
        print(
            f"{args.work_ms:g} ms of Python every {args.every_ms:g} ms on a {where}: median "
            f"{statistics.median(speeds[where]):.1f} parts/s against {alone:.1f} alone (ratio {ratio:.3f})"
        )


if __name__ == "__main__":
    main()
