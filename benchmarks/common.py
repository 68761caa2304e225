"""Small helpers shared by the benchmark scripts: timing, machine facts, fresh-process memory, results files."""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def synchronize(device: str | torch.device) -> None:
    """Wait for queued GPU work so that a wall-clock reading covers it (no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: str | torch.device = "cpu") -> float:
    """Wall-clock seconds of one call of ``fn``, with the device synchronised before and after."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def summary(seconds: list[float]) -> dict:
    """Median (the reported figure), min, max and every reading, so noise on a shared machine is visible."""
    return {"median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds),
            "all_s": seconds}


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float]:
    """1-, 5- and 15-minute load averages (other work on a shared machine slows every measurement)."""
    return [round(x, 2) for x in os.getloadavg()]


PERFORMANCE_ENV = ("MALLOC_", "OMP_", "MKL_", "TORCHINDUCTOR_")  # environment that changes speed


def command_line() -> str:
    """The command that produced a result, as one shell-quoted line, with any environment variables that
    change its speed (allocator, OpenMP, MKL, inductor settings) in front."""
    env = [f"{key}={value}" for key, value in sorted(os.environ.items()) if key.startswith(PERFORMANCE_ENV)]
    return shlex.join([*env, "python", *sys.argv])


def git_commit() -> str:
    """The repository's commit (``git describe --always --dirty``), or ``"unknown"`` outside a git checkout."""
    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


@contextmanager
def worktree(revision: str, folder: Path) -> Iterator[Path]:
    """The project at git ``revision``, checked out into ``folder`` (a detached worktree, removed afterwards), for
    before/after runs with this checkout's interpreter and packages: run ``python -m ...`` with ``cwd`` there."""
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(folder), revision], cwd=REPO, check=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=REPO, check=False)


def machine_info() -> dict:
    """Facts to store with every result: CPU (with ATen's SIMD level and a digest of the feature flags, which tell
    two hosts of one model apart), core count, torch build and thread count, platform."""
    from synth import fast_render

    key = fast_render.cache_key()
    info = {"cpu_model": cpu_model(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cpu_capability": key["cpu_capability"], "cpu_flags": key["cpu_flags"],
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "cuda_available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def render_build(path: str) -> str:
    """Which arithmetic renders on ``path`` (``fast`` or ``eager``) in this process, as a short name: for ``fast``,
    the fast render's cache entries (``voice-<digest> gradient-<digest>``: the digest covers the CPU's flags and SIMD
    level, torch, the synth's code and the kernels' threads); for ``eager``, the SIMD level ATen picked and a digest
    of the CPU's flags. Runs whose names differ (another CPU, or the same VM booted on another host) agree to float
    tolerance, not bit for bit, and refinement and the choice of candidates amplify that into other answers: pair
    before/after runs only where the names agree. A rebuild on the same CPU renders the same bytes (6 December:
    audio and gradients of 64 rows identical after a second build into another cache folder)."""
    from synth import fast_render

    if path == "fast":
        return " ".join(fast_render.entry_dir(kind).name for kind in fast_render.KINDS)
    key = fast_render.cache_key()
    return f"eager-{key['cpu_capability']}-{key['cpu_flags']}"


def run_child(code: str, *args: str, timeout_s: float = 900) -> dict:
    """Run ``python -c code *args`` in a fresh process from the repo root; its last stdout line is JSON."""
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True,
                            timeout=timeout_s)
    if result.returncode:
        raise RuntimeError(f"benchmark child process failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def read_records(path: Path) -> list[dict]:
    """The records a benchmark appended to ``path`` (JSON lines; none when it is absent): what a rerun skips."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def append_record(path: Path, record: dict) -> None:
    """Append ``record`` to ``path`` as one JSON line, as soon as it is measured (an interrupted run keeps it)."""
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")


def write_results(out_dir: Path, name: str, results: dict, markdown: str) -> tuple[Path, Path]:
    """Write ``name.json`` and ``name.md`` into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(markdown)
    return json_path, md_path
