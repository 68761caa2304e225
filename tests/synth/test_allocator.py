"""The glibc allocator settings the command-line entry points apply (:mod:`synth.allocator`)."""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = "from synth.allocator import tune_allocator; print(tune_allocator())"


def probe(**environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env={**env, **environment}, check=True).stdout.strip()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_applied_on_glibc_unless_the_user_chose_settings():
    assert probe() == "True"
    assert probe(MALLOC_TRIM_THRESHOLD_="0") == "False"
    assert probe(MALLOC_ARENA_MAX="4") == "False"
    assert probe(GLIBC_TUNABLES="glibc.malloc.mmap_threshold=65536") == "False"


ARENAS = """
import ctypes, sys, tempfile, threading
from synth.allocator import tune_allocator
if sys.argv[1] == "tuned":
    tune_allocator()
libc = ctypes.CDLL("libc.so.6")
thread = threading.Thread(target=lambda: [ctypes.create_string_buffer(1 << 20) for _ in range(4)])  # mallocs
thread.start()
thread.join()
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile() as report:
    stream = ctypes.c_void_p(libc.fopen(report.name.encode(), b"w"))
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    print(open(report.name).read().count("<heap nr="))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_a_worker_thread_allocates_from_the_main_arena_where_the_limits_apply():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    arenas = {mode: subprocess.run([sys.executable, "-c", ARENAS, mode], capture_output=True, text=True, cwd=ROOT,
                                   timeout=60, env=env, check=True).stdout.strip() for mode in ("default", "tuned")}
    assert arenas == {"default": "2", "tuned": "1"}  # glibc gives the thread an arena of its own by default
