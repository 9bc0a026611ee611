"""The machine a figure was measured on, in one line (benchmarks print it beside their numbers)."""

from __future__ import annotations

import platform
from pathlib import Path

import psutil


def describe_machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    memory = round(psutil.virtual_memory().total / 2**30)
    return (
        f"{cpu}, {psutil.cpu_count(logical=True)} logical CPUs, {memory} GiB, {platform.system()} {platform.machine()}"
    )
