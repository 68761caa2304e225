"""glibc allocator settings for the project's own processes.

Rendering and spectrograms allocate and free many multi-megabyte buffers per batch. With glibc's defaults,
blocks above the (adaptive) mmap threshold are mapped fresh and unmapped on free, and the top of the heap is
returned to the system past 128 KiB, so every batch pays page faults again. :func:`tune_allocator` raises both
limits with ``mallopt`` (the same effect as ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` in the
environment): freed memory is kept for the next batch. Peak memory is unchanged; memory the process no
longer uses is returned later. The command-line entry points call it at start-up; measured in
``benchmarks/synth_speed.py --tuned-allocator``.

Both limits act on glibc's main arena only. A thread of its own (the web app answers each request in a worker
thread) allocates from an arena of its own, whose heaps hold at most 64 MiB: larger buffers are mapped fresh on
every call whatever the threshold, smaller ones returned when freed. So it also sets ``M_ARENA_MAX`` to 1 (as
``MALLOC_ARENA_MAX=1`` does): every thread allocates from the main arena. ``benchmarks/allocator_threads.py``: an
answer of ``inverse predict`` on a worker thread took 14.0 s with the limits alone (10.4 s on the main thread) and
10.4 s with one arena (main thread 9.8 s); rendering on the main thread and ``dataset_gen`` (whose writer thread
only compresses) are unchanged.

Nothing happens where the C library is not glibc, or where the user set any of these variables (their choice
wins).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 1024 * 1024 * 1024  # blocks up to 1 GiB come from the heap (a batch's buffers are 4-90 MB)
TRIM_THRESHOLD = 1024 * 1024 * 1024  # keep up to 1 GiB of freed heap for the next batch
ARENA_MAX = 1  # every thread allocates from the main arena, where the two limits apply
ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX", "GLIBC_TUNABLES")


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
    return all(bool(mallopt(option, value)) for option, value in
               ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, ARENA_MAX)))
