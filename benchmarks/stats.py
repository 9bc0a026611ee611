"""Production statistics over a large record table: the time of ``inspection stats``' computation.

    python benchmarks/stats.py [--records 1000000]

Builds (once, in a temporary folder shared with benchmarks/export_log.py) a station database with that
many synthetic inspections (``inspection.recorder.synthetic``), then times ``statistics()`` (totals,
scrap rate, Pareto, cycle-time percentiles and the groups) for each grouping, three runs each, and
prints the best and the worst run, and the machine.
"""

from __future__ import annotations

import argparse
import time

from export_log import history  # the same file as the export benchmark

from inspection.core.machine import describe_machine
from inspection.quality.yield_stats import GROUPINGS, statistics
from inspection.recorder import synthetic
from inspection.recorder.database import open_database
from inspection.recorder.queries import RecordFilter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    url, built = synthetic.cached_database(f"inspection-export-bench-{args.records}", history(args.records))
    if built is not None:
        print(f"built {args.records:,} inspections in {built:.0f} s ({url})")
    engine = open_database(url)
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
