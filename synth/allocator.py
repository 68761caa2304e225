"""glibc allocator settings for the project's own processes.

Rendering and spectrograms allocate and free many multi-megabyte buffers per batch. With glibc's defaults,
blocks above the (adaptive) mmap threshold are mapped fresh and unmapped on free, and the top of the heap is
returned to the system past 128 KiB, so every batch pays page faults again. :func:`tune_allocator` raises both
limits with ``mallopt`` (the same effect as ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in the
environment): freed memory is kept for the next batch. Peak memory is unchanged; memory the process no
longer uses is returned later. The command-line entry points call it at start-up; measured in
``benchmarks/synth_speed.py --tuned-allocator``.

Nothing happens where the C library is not glibc, or where the user set either variable (their choice wins).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1024 * 1024 * 1024  # blocks up to 1 GiB come from the heap (a batch's buffers are 4-90 MB)
TRIM_THRESHOLD = 1024 * 1024 * 1024  # keep up to 1 GiB of freed heap for the next batch
ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def tune_allocator() -> bool:
    """Apply the settings above to this process; returns whether they were applied."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in ENVIRONMENT):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
