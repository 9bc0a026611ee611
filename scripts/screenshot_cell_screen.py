"""The operator window as the cell's kiosk, in its states, saved as pictures (docs/kiosk-*.png).

    xvfb-run -a -s "-screen 0 1920x1080x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/screenshot_cell_screen.py docs [--theme high-contrast] [--states running]

A throw-away station (the demo's pylon emulator replaying the bundled sample, its own SQLite file in a
temporary folder) with an engineer logged in; the window runs full screen as ``inspection-gui --kiosk``
does and is grabbed running, with a FAIL held, with its camera pulled, and while it changes product.
Nothing of the project's own recipes, models or data changes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("PYLON_CAMEMU", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.bridge import StationBridge  # noqa: E402
from gui.controller import StationController  # noqa: E402
from gui.operator_window import OperatorWindow  # noqa: E402
from gui.services import Services  # noqa: E402
from gui.session import Session  # noqa: E402
from gui.theme import THEMES  # noqa: E402
from inspection.config import load_station_config  # noqa: E402
from inspection.recorder.accounts import create_user  # noqa: E402

STATES = ("running", "fail-held", "review", "accounts", "camera-fault", "changing-product", "camera")


def wait(app: QApplication, done: Callable[[], bool], seconds: float) -> bool:
    ends = time.monotonic() + seconds
    while not done() and time.monotonic() < ends:
        app.processEvents()
        time.sleep(0.02)
    app.processEvents()
    return done()


def station_files(work: Path) -> tuple[Path, Path]:
    """A station like the demo (camera back after 30 s when pulled) and a second product's recipe."""
    recipe = (ROOT / "configs" / "recipes" / "deeppcb.yaml").read_text().replace("../../", f"{ROOT}/")
    (work / "deeppcb.yaml").write_text(recipe)
    other = work / "deeppcb-rev-b.yaml"
    other.write_text(recipe.replace("name: deeppcb-bare-board", "name: deeppcb-rev-b"))
    station = work / "station.yaml"
    station.write_text(yaml.safe_dump({
        "station": "cell-3", "recipe": str(work / "deeppcb.yaml"),
        "camera": {"type": "pylon", "emulated": 1, "serial": "0815-0000",
                   "image_folder": str(ROOT / "datasets" / "deeppcb-sample" / "images"),
                   "trigger": {"mode": "software", "interval_ms": 150}, "reconnect": {"initial_s": 30, "max_s": 30}},
        "storage": {"data_dir": str(work / "data")},
        "measurement": {"mm_per_px": 0.0208},
        "shifts": {"timezone": "Europe/Berlin"},
    }))  # fmt: skip
    return station, other


def review_picture(app: QApplication, window: OperatorWindow, out: Path) -> None:
    """The newest failed part opened from the fails strip, a box chosen in the list, zoomed to it."""
    wait(app, lambda: bool(window.fails.parts), 30)
    record, image = window.fails.parts[0][:2]
    dialog = window.open_part(record, image)
    dialog.resize(1500, 900)
    review = dialog.review
    assert review is not None
    review.choose("false_call")
    review.list.setCurrentRow(min(1, review.list.count() - 1))
    box = review.boxes[review.list.currentRow()]
    wait(app, lambda: False, 0.3)
    review.view.set_zoom(2.5, around=((box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2))
    review.note.setText("burr from the drill, not copper")
    wait(app, lambda: False, 0.5)
    dialog.grab().save(str(out))
    print(f"{out}: review of {record.id}")
    dialog.close()


def accounts_picture(app: QApplication, services: Services, out: Path) -> None:
    """The admin's account list, one account disabled, a password reset refused for a mistyped repeat."""
    from gui.accounts_dialog import AccountsDialog  # noqa: PLC0415  (only for this picture)

    admin = Session(services)
    admin.log_in("ada", "admin-password-1")
    create_user(services.engine, "olga", "operator-password-1", "operator", admin.user)
    dialog = AccountsDialog(admin)
    dialog.show()
    dialog.select("olga")
    dialog.toggle_active()
    dialog.select("eric")
    dialog.password.setText("a-new-password")
    dialog.repeated.setText("a-new-passwort")
    dialog.reset()
    wait(app, lambda: False, 0.5)
    dialog.grab().save(str(out))
    print(f"{out}: {dialog.error.text()}")
    dialog.close()


def camera_picture(app: QApplication, window: OperatorWindow, out: Path) -> None:
    """The camera settings with the live image, exposure turned down (the station stopped)."""
    dialog = window.open_camera()
    assert dialog is not None
    wait(app, lambda: dialog.frames >= 3, 20)  # type: ignore[attr-defined]
    dialog.editors["exposure_us"].setValue(4000.0)  # type: ignore[attr-defined]
    wait(app, lambda: False, 0.6)
    dialog.grab().save(str(out))
    print(f"{out}: {dialog.frames} frames")  # type: ignore[attr-defined]
    dialog.reject()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--theme", choices=sorted(THEMES), default="standard")
    parser.add_argument("--states", nargs="+", choices=STATES, default=list(STATES))
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    theme = THEMES[args.theme]
    if theme.window:
        app.setStyleSheet(theme.window)
    work = Path(tempfile.mkdtemp(prefix="cell-screen-"))
    station, other = station_files(work)
    config = load_station_config(station)
    services = Services.open(config.storage)
    admin = create_user(services.engine, "ada", "admin-password-1", "admin", None)
    create_user(services.engine, "eric", "engineer-password-1", "engineer", admin)
    session = Session(services)
    session.log_in("eric", "engineer-password-1")
    from gui.timefmt import use_zone  # noqa: PLC0415  (after the station file is read)

    use_zone(config.shifts.zone())
    bridge = StationBridge()
    window = OperatorWindow(StationController(station, bridge), bridge, session, theme, hold_s=4.0, kiosk=True)
    window.showFullScreen()
    suffix = "" if args.theme == "standard" else f"-{args.theme}"
    args.out.mkdir(parents=True, exist_ok=True)

    def save(name: str) -> None:
        path = args.out / f"kiosk-{name}{suffix}.png"
        window.grab().save(str(path))
        print(f"{path}: state {window.state.shown.kind}, verdict {window.verdict.kind}")

    window.start()
    wait(app, lambda: window.shown >= 8, 120)
    if "running" in args.states:
        wait(app, lambda: window.verdict.kind in ("pass", "fail") and not window.verdict.note.text(), 30)
        save("running")
    if "fail-held" in args.states:
        wait(app, lambda: "held" in window.verdict.note.text(), 60)
        save("fail-held")
    if "review" in args.states:
        review_picture(app, window, args.out / f"review{suffix}.png")
    if "accounts" in args.states:
        accounts_picture(app, services, args.out / f"accounts{suffix}.png")
    if "camera-fault" in args.states:
        station_now = window.controller._station
        assert station_now is not None
        station_now.camera.source.device.Close()  # type: ignore[attr-defined]  # the cable pulled
        wait(app, lambda: window.state.shown.kind == "camera_fault", 10)
        wait(app, lambda: False, 0.5)
        save("camera-fault")
    if "changing-product" in args.states:
        window.stop()
        wait(app, lambda: not window.controller.running, 60)
        before = window.shown
        window.start()
        wait(app, lambda: window.shown >= before + 3 and window.state.shown.kind == "running", 60)
        window.products.switch(other)
        wait(app, lambda: window.state.shown.kind == "changing", 5)
        save("changing-product")
        wait(app, lambda: window.state.shown.kind == "running", 60)
    window.stop()
    wait(app, lambda: not window.controller.running, 60)
    if "camera" in args.states:
        camera_picture(app, window, args.out / f"camera-settings{suffix}.png")
    window.kiosk = False
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
