"""Drive the app's teach-in window end to end and save a picture of it (docs/teach-in.png).

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/screenshot_teach_in.py GOOD_FOLDER BAD_FOLDER docs/teach-in.png

A throw-away station (pylon emulator replaying GOOD_FOLDER, its own SQLite file and registry in a temporary
folder) with an engineer logged in; the window captures 30 good parts, trains, scores the parts of
BAD_FOLDER and is grabbed with the threshold at 0.5. Nothing of the project's own models or recipes changes.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PYLON_CAMEMU", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.services import Services  # noqa: E402
from gui.session import Session  # noqa: E402
from gui.teach_dialog import TeachDialog  # noqa: E402
from inspection.config import load_station_config  # noqa: E402
from inspection.recorder.accounts import create_user  # noqa: E402


def wait(app: QApplication, done: object, seconds: float) -> None:
    ends = time.monotonic() + seconds
    while not done() and time.monotonic() < ends:  # type: ignore[operator]
        app.processEvents()
        time.sleep(0.05)


def main() -> int:
    good, bad, out = (Path(arg) for arg in sys.argv[1:4])
    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="teach-in-"))
    station = work / "station.yaml"
    station.write_text(yaml.safe_dump({
        "station": "teach-in-demo", "recipe": str(ROOT / "configs" / "recipes" / "deeppcb.yaml"),
        "camera": {"type": "pylon", "emulated": 1, "serial": "0815-0000", "image_folder": str(good.resolve()),
                   "trigger": {"mode": "software"}},
        "storage": {"data_dir": str(work / "data")},
    }))  # fmt: skip
    config = load_station_config(station)
    services = Services.open(config.storage)
    admin = create_user(services.engine, "ada", "admin-password-1", "admin", None)
    create_user(services.engine, "eric", "engineer-password-1", "engineer", admin)
    session = Session(services)
    session.log_in("eric", "engineer-password-1")
    dialog = TeachDialog(session, station, config, work / "teach", work / "registry", work / "recipes")
    dialog.show()
    dialog.name.setText("housing-a12")
    dialog.count.setValue(30)
    dialog.capture_button.click()
    wait(app, dialog.train_button.isEnabled, 120)
    dialog.train_button.click()
    wait(app, lambda: dialog.progress.value() >= 40, 120)
    dialog.grab().save(str(out.with_name(out.stem + "-training.png")))
    wait(app, dialog.save_button.isEnabled, 600)
    dialog.score_bad_parts(bad)
    app.processEvents()
    dialog.grab().save(str(out))
    print(f"saved {out}: {dialog.rate.text()}; {dialog.bad_label.text()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
