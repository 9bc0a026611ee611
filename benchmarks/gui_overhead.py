"""What the operator window costs the line: station throughput with the window attached (offscreen Qt,
live view, counters, fails strip all updating) against the same station headless, in one process.

    python benchmarks/gui_overhead.py [--parts 500] [--rounds 3] [--config configs/demo_station.yaml]

Each round runs the headless station and then the station under the window, on the same config with a
fresh data folder each time; throughput is the station's own (first trigger to last record committed).
Prints each run, the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from inspection.config import DEMO_CONFIG, StationConfig, load_station_config
from inspection.core.machine import describe_machine
from inspection.station.pipeline import Station


def with_data_dir(config: StationConfig, folder: str) -> StationConfig:
    storage = config.storage.model_copy(update={"data_dir": Path(folder), "database_url": None})
    return config.model_copy(update={"storage": storage})


def headless(config: StationConfig, parts: int) -> float:
    with tempfile.TemporaryDirectory(prefix="inspection-gui-bench-") as folder:
        station = Station(with_data_dir(config, folder))
        try:
            summary = station.run(parts=parts)
        finally:
            station.close()
    return summary.records_written / summary.stats.elapsed_s


def with_window(config_path: Path, parts: int) -> tuple[float, int]:
    from PySide6.QtCore import QEventLoop  # noqa: PLC0415
    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from gui.bridge import StationBridge  # noqa: PLC0415
    from gui.controller import StationController  # noqa: PLC0415
    from gui.gc_guard import MainThreadCollector  # noqa: PLC0415
    from gui.operator_window import OperatorWindow  # noqa: PLC0415
    from gui.services import Services  # noqa: PLC0415
    from gui.session import Session  # noqa: PLC0415
    from inspection.recorder.accounts import User  # noqa: PLC0415

    application = QApplication.instance() or QApplication([])  # must exist (and live) before any widget
    assert application is not None
    collector = MainThreadCollector()  # as the app runs
    with tempfile.TemporaryDirectory(prefix="inspection-gui-bench-") as folder:
        bridge = StationBridge()
        controller = StationController(config_path, bridge)
        controller.config = with_data_dir(controller.config, folder)
        session = Session(Services.open(controller.config.storage))
        session.user = User("bench", "operator")
        window = OperatorWindow(controller, bridge, session)
        window.show()
        summaries = []
        loop = QEventLoop()  # as the app runs: Qt's event loop, no polling
        controller.finished.connect(summaries.append)
        controller.finished.connect(loop.quit)
        window.start(parts)
        loop.exec()
        window.close()
        shown = window.shown
        window.deleteLater()  # freed here, while the application lives (not at the interpreter's exit)
        application.processEvents()
        del window
        collector.stop()
        summary = summaries[0]
    return summary.records_written / summary.stats.elapsed_s, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEMO_CONFIG)
    parser.add_argument("--parts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    config = load_station_config(args.config)
    plain, gui = [], []
    for round_number in range(1, args.rounds + 1):
        plain.append(headless(config, args.parts))
        rate, shown = with_window(args.config, args.parts)
        gui.append(rate)
        print(f"round {round_number}: headless {plain[-1]:.1f} parts/s, with the window {gui[-1]:.1f} parts/s "
              f"({shown} of {args.parts} parts drawn)")  # fmt: skip
    ratio = statistics.median(gui) / statistics.median(plain)
    print(f"median: headless {statistics.median(plain):.1f}, with the window {statistics.median(gui):.1f} parts/s; "
          f"ratio {ratio:.3f}")  # fmt: skip
    print(f"machine: {describe_machine()}")


if __name__ == "__main__":
    main()
