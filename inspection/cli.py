"""The ``inspection`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from inspection import __version__
from inspection.config import DEMO_CONFIG
from inspection.errors import StationError

log = logging.getLogger("inspection")


def _run(args: argparse.Namespace) -> int:
    from inspection.commands.run import run_station  # noqa: PLC0415

    return run_station(args.config, args.parts, args.duration, quiet=args.quiet)


def _inspect(args: argparse.Namespace) -> int:
    from inspection.commands.inspect import inspect_paths  # noqa: PLC0415

    return inspect_paths(args.paths, args.recipe, args.model, args.conf, args.json, args.device)


def _cameras(args: argparse.Namespace) -> int:
    from inspection.commands.cameras import list_cameras  # noqa: PLC0415

    return list_cameras(args.emulated, args.json, args.emulator_only)


def _bench(args: argparse.Namespace) -> int:
    from inspection.commands.bench import run_bench  # noqa: PLC0415

    return run_bench(args.config, args.parts, args.json)


def _dataset_import(args: argparse.Namespace) -> int:
    from inspection.dataset.importer import import_deeppcb  # noqa: PLC0415

    groups = {g.strip() for g in args.val_groups.split(",") if g.strip()} if args.val_groups else None
    import_deeppcb(args.source, args.out, groups)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inspection",
        description="Computer-vision quality inspection station: camera -> YOLO -> PASS/FAIL -> record.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    run.set_defaults(handler=_run)

    inspect = commands.add_parser(
        "inspect",
        help="inspect image files or folders",
        description=(
            "Inspect images with the recipe's model and rules. With --json: one JSON object per image on stdout."
        ),
    )
    inspect.add_argument("paths", nargs="+", type=Path, help="image files, folders or glob patterns")
    inspect.add_argument("--recipe", type=Path, help="recipe YAML (default: the demo station's recipe)")
    inspect.add_argument("--model", type=Path, help="model file (.pt or .onnx) instead of the recipe's")
    inspect.add_argument("--conf", type=float, help="minimum confidence of reported detections (all classes)")
    inspect.add_argument("--device", default="auto", help="auto (default), cpu, cuda")
    inspect.add_argument("--json", action="store_true", help="JSON lines on stdout")
    inspect.set_defaults(handler=_inspect)

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
    cameras.set_defaults(handler=_cameras)

    dataset = commands.add_parser("dataset", help="build training datasets", description="Build training datasets.")
    dataset_commands = dataset.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    importer = dataset_commands.add_parser(
        "import",
        help="convert a labelled dataset into the project's layout",
        description=(
            "Convert a labelled dataset into the project's YOLO layout with a manifest (source, classes, split, "
            "sha256 of every image). The validation split is by board group. Any bad label stops the import "
            "with its file and line; nothing is half-written."
        ),
    )
    importer.add_argument("source", type=Path, help="the source dataset folder")
    importer.add_argument("out", type=Path, help="new folder for the dataset")
    importer.add_argument("--format", choices=["deeppcb"], default="deeppcb", help="source layout (default deeppcb)")
    importer.add_argument(
        "--val-groups", help="comma-separated board groups for validation (default: the last ones, >= 10%% of pairs)"
    )
    importer.set_defaults(handler=_dataset_import)

    bench = commands.add_parser(
        "bench",
        help="measure detector and station throughput",
        description=(
            "Measure, in one run on the same images and model, the bare detector throughput and the full "
            "station throughput (camera -> record, images written), their ratio, latency and peak memory."
        ),
    )
    bench.add_argument("--config", type=Path, default=DEMO_CONFIG, help="station YAML (default: demo)")
    bench.add_argument("--parts", type=int, default=200, help="parts per measurement (default 200)")
    bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # The detector thread hands the GIL back and forth between native calls; a shorter switch interval
    # lets it take the GIL back sooner from the grab and record threads (measured: fewer stalls).
    sys.setswitchinterval(0.001)
    try:
        code: int = args.handler(args)
    except StationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. piped into `head`: the reader has gone, nothing to report
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
