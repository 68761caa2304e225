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
    assert probe(GLIBC_TUNABLES="glibc.malloc.mmap_threshold=65536") == "False"
