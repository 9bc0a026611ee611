"""``inspection-gui``: the operator station window.

    inspection-gui [--config station.yaml]            the demo station by default; asks for a login
    inspection-gui --kiosk [--theme high-contrast]     full screen, no window chrome; Exit for engineers
    inspection-gui --screenshot out.png [--parts N]    run N parts, save the window as PNG, exit

F5 starts, F6 stops, F8 triggers one part (a station with ``pipeline.trigger: manual``).

The first run, when no account exists, asks for the administrator's user name and password.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QApplication

from gui.bridge import StationBridge
from gui.controller import StationController
from gui.gc_guard import MainThreadCollector
from gui.operator_window import OperatorWindow
from gui.services import Services
from gui.session import Session
from gui.theme import THEMES
from gui.timefmt import use_zone
from inspection.config import DEMO_CONFIG
from inspection.core.errors import StationError, one_line
from inspection.core.memory import keep_freed_memory
from inspection.core.offline import block_openvino_telemetry
from inspection.recorder.accounts import User
from inspection.station.records import open_records


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inspection-gui", description="The operator station window.")
    parser.add_argument("--config", type=Path, default=DEMO_CONFIG, help="station YAML (default: the demo station)")
    parser.add_argument("--demo", action="store_true", help="the demo station (the default when --config is not given)")
    parser.add_argument(
        "--screenshot", type=Path, help="run until --parts parts were shown, save the window to this PNG, stop, exit"
    )
    parser.add_argument("--parts", type=int, default=30, help="with --screenshot: parts to show first (default 30)")
    parser.add_argument(
        "--kiosk", action="store_true", help="full screen without window chrome; only an engineer exits"
    )
    parser.add_argument("--theme", choices=sorted(THEMES), default="standard", help="colours (default: standard)")
    parser.add_argument(
        "--fail-hold", type=float, default=2.0, metavar="S", help="keep a FAIL on screen this long (default 2 s)"
    )
    parser.add_argument("--idle-minutes", type=float, default=15.0, help="log out after this long without input")
    parser.add_argument(
        "--records",
        help="the database the history and charts read: a SQLAlchemy URL, or 'fleet' for the central database of "
        "the station's fleet section (every station, with a station filter); default: the station's own",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    block_openvino_telemetry()
    keep_freed_memory()
    args = build_parser().parse_args(argv)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    collector = MainThreadCollector()  # Qt objects are freed on the GUI thread, never a station thread
    try:
        bridge = StationBridge()
        controller = StationController(DEMO_CONFIG if args.demo else args.config, bridge)
        records = open_records(controller.config_path, args.records)[1] if args.records else None
        services = Services.open(controller.config.storage, records)
    except StationError as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    use_zone(controller.config.shifts.zone())
    theme = THEMES[args.theme]
    if theme.window:
        app.setStyleSheet(theme.window)  # type: ignore[attr-defined]
    session = Session(services, args.idle_minutes)
    app.installEventFilter(session)
    if args.screenshot is not None:
        # Unattended: a session of its own that may only run the station (no account is created).
        session.user = User("screenshot", "operator")
    window = OperatorWindow(controller, bridge, session, theme, max(0.0, args.fail_hold), args.kiosk)
    if args.kiosk:
        window.showFullScreen()
    else:
        window.show()
    if args.screenshot is not None:
        return _screenshot(window, controller, args.screenshot, args.parts)
    window.toggle_login()  # the first run asks for the administrator's account, later runs for a login
    status = int(app.exec())
    collector.stop()
    return status


def _screenshot(window: OperatorWindow, controller: StationController, out: Path, parts: int) -> int:
    """Run ``parts`` parts with the window on screen, let it settle, and save it."""
    errors: list[str] = []
    controller.failed.connect(errors.append)
    window.start()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not errors and window.shown < parts:
        QApplication.processEvents()
        time.sleep(0.01)
    for _ in range(30):  # the last events and repaints, the station still running
        QApplication.processEvents()
        time.sleep(0.01)
    if errors:
        print(f"error: {one_line(errors[0])}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        print(f"error: {out}: cannot write the screenshot", file=sys.stderr)
        return 2
    print(f"screenshot of {window.shown} parts shown written to {out}")
    window.kiosk = False
    window.close()  # stops the station; every grabbed part is recorded
    return 0


if __name__ == "__main__":
    sys.exit(main())
