"""Export a large defect log to Parquet: time and peak memory of the real command.

    python benchmarks/export_log.py [--records 1000000] [--format parquet]

Builds (once, in a temporary folder) a station database with that many synthetic inspections (10%
failing with one to three counted detections, 20% with a near miss; ``inspection.recorder.synthetic``),
then runs ``inspection export-log`` on it in a child process and prints its wall time and peak resident
memory (the child's maximum RSS, as the kernel counts it), and the machine.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from inspection.core.machine import describe_machine
from inspection.recorder import synthetic


def history(records: int) -> synthetic.History:
    """10% failing parts, one every 5 s from 2026-01-01, on two stations (shared with benchmarks/stats.py)."""
    return synthetic.History(datetime(2026, 1, 1, tzinfo=UTC), records, 5.0, 0.1, ("line-a", "line-b"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--format", default="parquet", choices=["csv", "xlsx", "parquet", "jsonl"])
    args = parser.parse_args()
    url, built = synthetic.cached_database(f"inspection-export-bench-{args.records}", history(args.records))
    if built is not None:
        print(f"built {args.records:,} inspections in {built:.0f} s ({url})")
    out = Path(url.removeprefix("sqlite:///")).parent / f"export-{args.format}"
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    command = [sys.executable, "-m", "inspection.cli.main", "export-log", "--database", url, "--out", str(out)]
    started = time.perf_counter()
    subprocess.run([*command, "--format", args.format], check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size_mb = sum(p.stat().st_size for p in (out.rglob("*") if out.is_dir() else [out]) if p.is_file()) / 1e6
    print(f"export-log --format {args.format}: {args.records:,} inspections in {elapsed:.1f} s, "
          f"peak memory {peak_mb:.0f} MB, output {size_mb:.0f} MB")  # fmt: skip
    print(f"machine: {describe_machine()}")


if __name__ == "__main__":
    main()
