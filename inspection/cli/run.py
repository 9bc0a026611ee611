"""``inspection run``: the station with a live status line and a summary at the end."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from inspection.cli.options import Commands
from inspection.config import DEMO_CONFIG, StationConfig, load_station_config
from inspection.core.status import StationStatus
from inspection.recorder.spill import JOURNAL_NAME
from inspection.station.pipeline import Station
from inspection.station.run_summary import RunSummary


def status_line(status: StationStatus) -> str:
    counts = status.counts
    yield_text = f"{counts.yield_pct:.1f}%" if counts.yield_pct is not None else "-"
    waiting = f" | waiting for the database {status.records_pending}" if status.records_pending else ""
    return (
        f"parts {counts.parts} | pass {counts.passed} | fail {counts.failed} | yield {yield_text} | "
        f"{counts.parts_per_s:.1f} parts/s | faults {status.camera.faults} | written {status.records_written}"
        f"{waiting}"
    )


def print_summary(summary: RunSummary) -> None:
    stats = summary.stats
    detect, cycle, write = (stats.latency(stage) for stage in ("detect", "cycle", "write"))
    camera = summary.camera
    print("---- station summary ----")
    print(f"started        {summary.started_at}")
    print(
        f"parts          {stats.parts}  (pass {stats.passed}, fail {stats.failed}, yield "
        f"{stats.yield_pct if stats.yield_pct is not None else '-'}%)"
    )
    print(f"throughput     {stats.parts_per_s} parts/s over {stats.elapsed_s} s")
    print(
        f"latency        detect median {detect.median} ms, p99 {detect.p99} ms; "
        f"cycle median {cycle.median} ms, p99 {cycle.p99} ms; "
        f"write median {write.median} ms, p99 {write.p99} ms"
    )
    print(f"records        {summary.records_written} written to {summary.database}")
    if summary.records_pending:
        waiting = f"{summary.data_dir}/{JOURNAL_NAME}"
        print(f"               {summary.records_pending} wait in {waiting}: written at the next start")
    print(f"images         {summary.data_dir}/images")
    print(
        f"camera faults  {camera.faults} (failed grabs {camera.failed_grabs}, incomplete buffers "
        f"{camera.incomplete_buffers}, timeouts {camera.timeouts}, disconnects {camera.disconnects}, "
        f"reconnects {camera.reconnects})"
    )
    print(f"overruns       {stats.overruns}  dropped preview frames {stats.dropped_preview}")
    print(f"start-up       {summary.reconciliation}")
    if summary.records_replayed:
        print(f"               {summary.records_replayed} record(s) left waiting by the last run written")
    for error in summary.errors:
        print(f"ERROR          {error}")


def run_station(config_path: Path, parts: int | None, duration: float | None, quiet: bool = False) -> int:
    config = load_station_config(config_path)
    stopping = _StopRequest()
    # Ctrl-C and SIGTERM stop the station at any moment, from the first instant on: the handlers are in
    # place before the model loads, even where the parent started us with SIGINT ignored (a background
    # job of a script). Before the first part the start is abandoned; after it, every grabbed part is
    # still inspected and recorded.
    previous = {sig: signal.signal(sig, stopping.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(config, stopping, parts, duration, quiet)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _StopRequest:
    def __init__(self) -> None:
        self.requested = False
        self.station: Station | None = None

    def handle(self, _signum: int, _frame: FrameType | None) -> None:
        if self.requested:
            return
        self.requested = True
        if self.station is None:
            print("\nstopping: the station was still starting", file=sys.stderr)
            return
        print("\nstopping: finishing and recording the parts already grabbed ...", file=sys.stderr)
        self.station.stop()


def _run(config: StationConfig, stopping: _StopRequest, parts: int | None, duration: float | None, quiet: bool) -> int:
    station = Station(config)
    stopping.station = station
    if stopping.requested:
        station.close()
        print("interrupted before the first part", file=sys.stderr)
        return 130
    live = sys.stderr.isatty() and not quiet
    last_print = [0.0]

    def on_tick(status: StationStatus) -> None:
        if quiet:
            return
        now = time.monotonic()
        if live:
            print("\r" + status_line(status), end="", file=sys.stderr, flush=True)
        elif now - last_print[0] >= 5.0:
            print(status_line(status), file=sys.stderr, flush=True)
            last_print[0] = now

    try:
        print(
            f"station {config.station}: camera {station.camera.name}, recipe {station.recipe.name} "
            f"v{station.recipe.version}, model {station.detector.info.name} on {station.detector.info.device} "
            f"({station.backend_choice.reason})",
            file=sys.stderr,
        )
        summary = station.run(parts=parts, duration_s=duration, on_tick=on_tick)
    finally:
        station.close()
    if live:
        print(file=sys.stderr)
    print_summary(summary)
    return 1 if summary.errors else 0


def add_commands(commands: Commands) -> None:
    run = commands.add_parser(
        "run",
        help="run the station",
        description=(
            "Run the station: grab parts from the camera, inspect, decide PASS/FAIL and record each part. "
            "Ctrl-C or SIGTERM stops grabbing and writes every pending record before exiting."
        ),
    )
    run.add_argument(
        "--config", type=Path, default=DEMO_CONFIG, help=f"station YAML (default: the demo station, {DEMO_CONFIG.name})"
    )
    limit = run.add_mutually_exclusive_group()
    limit.add_argument("--parts", type=int, help="stop after N parts")
    limit.add_argument("--duration", type=float, help="stop after S seconds")
    run.add_argument("--quiet", action="store_true", help="no live status line")
    # keeps_quiet_stop: Ctrl-C stays quiet until the station's own stop handler is in place
    run.set_defaults(handler=_handle, keeps_quiet_stop=True)


def _handle(args: argparse.Namespace) -> int:
    return run_station(args.config, args.parts, args.duration, quiet=args.quiet)
