"""Keep freed image buffers in the process instead of handing them back to the kernel.

glibc's malloc takes large blocks (above its mmap threshold) straight from the kernel and returns them on
free, and gives back the top of its heap beyond a trim threshold. A station allocates and frees a dozen
image-sized buffers for every part (grey and float copies, pyramid levels, OpenCV's ECC and warp buffers,
1-2 MB each), so with glibc's defaults every part pays page faults to touch fresh memory again. Measured
with the demo model (640 px DeepPCB boards, 2-core AMD EPYC, `inspection bench --parts 300`): the station
ran 16 parts/s with glibc's defaults and 19-21 with freed memory kept; peak memory 405 -> 433 MB.
``INSPECTION_KEEP_FREED_MEMORY=0`` keeps glibc's defaults. Elsewhere than glibc (musl, macOS, Windows)
this does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

SWITCH = "INSPECTION_KEEP_FREED_MEMORY"
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 32 * 1024 * 1024  # blocks below this come from the heap (glibc's largest allowed value)
TRIM_THRESHOLD = 64 * 1024 * 1024  # free memory the heap keeps before it gives any back
TOP_PAD = 64 * 1024 * 1024  # extra the heap asks for when it grows
# Threads share this many heaps (glibc's default: 8 per core), since each heap keeps its freed buffers: with
# two detect workers (``pipeline.parallel_parts: 2``) the demo peaked at 898 MB with the default, 650 MB with
# two heaps and 615 MB with one worker, at the same speed (`inspection bench --parts 200`, 2-core Xeon).
ARENA_MAX = 2


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as above; False where the C library is not glibc or the tuning is switched off."""
    if not sys.platform.startswith("linux") or os.environ.get(SWITCH, "1") == "0":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    settings = (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (_M_TOP_PAD, TOP_PAD),
        (_M_ARENA_MAX, ARENA_MAX),
    )
    applied = all(mallopt(option, value) == 1 for option, value in settings)
    if not applied:
        log.debug("malloc tuning not applied (mallopt refused); image buffers go back to the kernel as they free")
    return applied
