"""How fast the GUI's history opens and filters a large record table.

    python benchmarks/history_filter.py [--records 100000]

Builds (once, in a temporary folder) a station database with that many synthetic records (about 45%
failing, each failed part with one to three counted boxes; timestamps over 30 days;
``inspection.recorder.synthetic``), then opens the
history window offscreen and times each filter: the count and the first page of 200 rows, as the
window does them. Prints one line per filter and the machine.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from inspection.core.machine import describe_machine
from inspection.recorder import synthetic
from inspection.recorder.database import open_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    # About 45% failing parts, each with one to three counted boxes; timestamps over the 30 days before
    # the database was built.
    start = datetime.now(UTC) - timedelta(days=30)
    history = synthetic.History(start, args.records, 30 * 86400 / args.records, 0.45, ("bench",))
    url, built = synthetic.cached_database(f"inspection-history-bench-{args.records}", history)
    if built is not None:
        print(f"built {args.records} records in {built:.1f} s ({url})")
    folder = Path(url.removeprefix("sqlite:///")).parent

    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from gui.history_view import HistoryWindow  # noqa: PLC0415
    from gui.services import Records  # noqa: PLC0415

    app = QApplication([])
    engine = open_database(url)
    started = time.perf_counter()
    window = HistoryWindow(Records(engine, folder))
    window.show()
    app.processEvents()
    print(f"open (count + first page, {window.model.total} records): {1000 * (time.perf_counter() - started):.0f} ms")
    cases = {
        "verdict fail": lambda: window.verdict.setCurrentText("fail"),
        "class spur (with fail)": lambda: window.label.setCurrentText("spur"),
        "serial contains 0042": lambda: window.serial.setText("0042"),
        "last 24 hours": lambda: (window.serial.setText(""), window.range.setCurrentText("last 24 hours")),
    }
    for name, change in cases.items():
        change()
        started = time.perf_counter()
        window.apply_filter()
        app.processEvents()
        elapsed = 1000 * (time.perf_counter() - started)
        print(f"filter {name:28} {window.model.total:7d} records  {elapsed:6.0f} ms")
    window.table.scrollToBottom()
    started = time.perf_counter()
    for _ in range(10):
        window.model.fetchMore(window.model.index(-1, -1))
    print(f"10 more pages of 200 rows: {1000 * (time.perf_counter() - started):.0f} ms")
    print(f"machine: {describe_machine()}")


if __name__ == "__main__":
    main()
