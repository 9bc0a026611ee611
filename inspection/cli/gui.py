"""``inspection gui``: hands over to ``inspection-gui`` (a separate program: the core never imports Qt).
Every argument after ``gui`` belongs to it, ``--help`` included, so ``main`` calls ``open_gui`` before
parsing; the parser entry is there for the command list."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from inspection.cli.options import Commands


def add_commands(commands: Commands) -> None:
    gui = commands.add_parser(
        "gui",
        help="open the operator window (same as inspection-gui)",
        description="Open the operator window; every argument goes to inspection-gui (see inspection gui --help).",
        add_help=False,
    )
    gui.add_argument("gui_args", nargs=argparse.REMAINDER, help="see inspection-gui --help")


def open_gui(gui_args: Sequence[str]) -> int:
    os.execv(sys.executable, [sys.executable, "-m", "gui.app", *gui_args])
    return 0  # not reached
