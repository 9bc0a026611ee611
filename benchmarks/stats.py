"""Production statistics over a large record table: the time of ``inspection stats``' computation.

    python benchmarks/stats.py [--records 1000000]

Builds (once, in a temporary folder shared with benchmarks/export_log.py) a station database with that
many synthetic inspections (``inspection.recorder.synthetic``), then times ``statistics()`` (totals,
scrap rate, Pareto, cycle-time percentiles and the groups) for each grouping, three runs each, and
prints the best and the worst run, and the machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from inspection.commands.bench import describe_machine
from inspection.quality.stats import GROUPINGS, statistics
from inspection.recorder import synthetic
from inspection.recorder.database import open_database
from inspection.recorder.queries import RecordFilter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.gettempdir()) / f"inspection-export-bench-{args.records}"
    folder.mkdir(exist_ok=True)
    database = folder / "inspection.db"
    engine = open_database(f"sqlite:///{database}")
    if engine.connect().exec_driver_sql("SELECT count(*) FROM inspections").scalar_one() == 0:
        started = time.perf_counter()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        synthetic.fill(engine, synthetic.History(start, args.records, 5.0, 0.1, ("line-a", "line-b")))
        print(f"built {args.records:,} inspections in {time.perf_counter() - started:.0f} s ({database})")
    for by in GROUPINGS:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            report = statistics(engine, RecordFilter(), by)
            times.append(time.perf_counter() - started)
        print(
            f"stats by {by:8} over {report.totals.parts:,} inspections: best {min(times) * 1000:.0f} ms, "
            f"worst {max(times) * 1000:.0f} ms ({len(report.groups)} groups)"
        )
    print(f"machine: {describe_machine()}")


if __name__ == "__main__":
    main()
