"""The ``inspection`` command line."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(_signum: int, _frame: object) -> None:
    """Ctrl-C while the command is still importing its libraries: nothing is open yet, so stop at once
    and quietly (a KeyboardInterrupt there prints a traceback from the middle of some import)."""
    os.write(2, b"interrupted\n")
    os._exit(130)


# Before the imports below (they take a good part of a second); also where the parent started us with
# Ctrl-C ignored (a background job of a script): an interrupt is honoured from the first moment.
signal.signal(signal.SIGINT, _interrupted_while_starting)

import argparse
import logging
from collections.abc import Sequence
from typing import Protocol

from inspection import __version__
from inspection.cli import (
    alerts,
    audit,
    bench,
    calibrate,
    cameras,
    compare,
    dataset,
    evaluate,
    export,
    export_log,
    gui,
    inspect,
    models,
    plc,
    product,
    report,
    run,
    spc,
    stats,
    teach,
    train,
)  # fmt: skip
from inspection.cli.options import Commands
from inspection.core.errors import StationError, brief, one_line
from inspection.core.memory import keep_freed_memory
from inspection.core.offline import block_openvino_telemetry


class CommandModule(Protocol):
    """A module of ``inspection/cli/`` that adds its commands: a parser each, with ``handler`` set to a
    function of the parsed arguments that returns the exit code."""

    def add_commands(self, commands: Commands) -> None: ...


log = logging.getLogger("inspection")

# Every command module adds its own commands (parser and handler); this order is the order of --help.
COMMAND_MODULES: tuple[CommandModule, ...] = (
    run, product, inspect, cameras, dataset, train, evaluate, export, models, compare, teach, plc, gui, bench,
    calibrate, export_log, stats, spc, alerts, audit, report,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inspection",
        description="Computer-vision quality inspection station: camera -> YOLO -> PASS/FAIL -> record.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    block_openvino_telemetry()  # before anything can import OpenVINO
    keep_freed_memory()
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["gui"]:  # every argument after it belongs to inspection-gui, --help included
        return gui.open_gui(arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)
    if not getattr(args, "keeps_quiet_stop", False):  # `run` keeps it until the station's own handler is in
        signal.signal(signal.SIGINT, signal.default_int_handler)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # The detector thread hands the GIL back and forth between native calls; a shorter switch interval
    # lets it take the GIL back sooner from the grab and record threads (measured: fewer stalls).
    sys.setswitchinterval(0.001)
    try:
        code: int = args.handler(args)
    except StationError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
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
        print(f"error: unexpected {brief(exc)} (run with --debug for details)", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
