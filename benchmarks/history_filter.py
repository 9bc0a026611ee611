"""How fast the GUI's history opens and filters a large record table.

    python benchmarks/history_filter.py [--records 100000]

Builds (once, in a temporary folder) a station database with that many synthetic records (about 45%
failing, each failed part with one to three counted boxes; timestamps over 30 days), then opens the
history window offscreen and times each filter: the count and the first page of 200 rows, as the
window does them. Prints one line per filter and the machine.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from sqlalchemy import insert

from inspection.commands.bench import describe_machine
from inspection.recorder.database import open_database
from inspection.recorder.schema import DetectionRow, InspectionRow

CLASSES = ["open", "short", "mousebite", "spur", "copper", "pin-hole"]


def fill(url: str, records: int) -> None:
    engine = open_database(url)
    rng = random.Random(0)
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / records
    batch_rows, batch_boxes = [], []
    for n in range(records):
        record_id = uuid.UUID(int=rng.getrandbits(128)).hex
        failed = rng.random() < 0.45
        labels = rng.sample(CLASSES, rng.randint(1, 3)) if failed else []
        batch_rows.append(
            {
                "id": record_id, "created_at": start + n * step, "station": "bench", "camera": "emulated",
                "recipe_name": "deeppcb-bare-board", "recipe_version": "1", "model_name": "deeppcb/model.onnx",
                "model_sha256": "0" * 64, "part_serial": f"SN{n:08d}", "verdict": "fail" if failed else "pass",
                "reasons": "[" + ", ".join(f'"1 x {label} >= 0.50"' for label in labels) + "]",
                "grab_ms": 1.0, "detect_ms": 15.0, "decide_ms": 0.1, "cycle_ms": 80.0, "source_name": None,
                "reference_name": None, "image_path": None, "annotated_path": None,
            }
        )  # fmt: skip
        for label in labels:
            batch_boxes.append(
                {"inspection_id": record_id, "label": label, "class_id": CLASSES.index(label), "confidence": 0.9,
                 "x1": 10.0, "y1": 10.0, "x2": 40.0, "y2": 40.0, "area": 900.0, "counted": True}
            )  # fmt: skip
        if len(batch_rows) == 10_000 or n == records - 1:
            with engine.begin() as connection:
                connection.execute(insert(InspectionRow), batch_rows)
                if batch_boxes:
                    connection.execute(insert(DetectionRow), batch_boxes)
            batch_rows, batch_boxes = [], []
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir()) / f"inspection-history-bench-{args.records}"
    folder.mkdir(exist_ok=True)
    url = f"sqlite:///{folder / 'inspection.db'}"
    if not (folder / "inspection.db").is_file():
        started = time.perf_counter()
        fill(url, args.records)
        print(f"built {args.records} records in {time.perf_counter() - started:.1f} s ({folder})")

    from PySide6.QtWidgets import QApplication  # noqa: PLC0415

    from gui.history_view import HistoryWindow  # noqa: PLC0415

    app = QApplication([])
    engine = open_database(url)
    started = time.perf_counter()
    window = HistoryWindow(engine, folder)
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
