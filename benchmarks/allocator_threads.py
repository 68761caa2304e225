"""`inverse predict`'s answer on the main thread and on a worker thread (as the web app runs it), under glibc's
default allocator, the two 1 GiB limits alone, and the limits plus one arena (what `synth.allocator.tune_allocator`
sets), each in a fresh process, interleaved.

    python benchmarks/allocator_threads.py [--repeats 3] [--refine none|gradient] [--out benchmarks/results]

Each process loads the shipped model, answers `inverse/pretrained/example.png` once to warm up and once timed,
both on the same thread. glibc's limits act on its main arena; a thread of its own allocates from another arena,
whose 64 MiB heaps cannot hold a batch's larger buffers, so there they are mapped fresh on every call. Writes
``allocator_threads.{json,md}`` with the command line, machine facts and load averages before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402

SETTINGS = ("default", "limits", "limits + one arena")
THREADS = ("main", "worker")

CHILD = """
import ctypes, json, sys, threading, time
from synth import allocator
setting, thread, method = sys.argv[1:4]
if setting == "limits":  # tune_allocator before it set M_ARENA_MAX
    mallopt = ctypes.CDLL("libc.so.6").mallopt
    mallopt(allocator.M_MMAP_THRESHOLD, allocator.MMAP_THRESHOLD)
    mallopt(allocator.M_TRIM_THRESHOLD, allocator.TRIM_THRESHOLD)
elif setting == "limits + one arena":
    assert allocator.tune_allocator()
from inverse.predict import Predictor
from inverse.refine import RefineConfig
predictor = Predictor.from_checkpoint()
seconds = []
def answer():
    for _ in range(2):
        started = time.perf_counter()
        predictor.predict("inverse/pretrained/example.png", samples=10, refine=RefineConfig(method=method))
        seconds.append(time.perf_counter() - started)
if thread == "main":
    answer()
else:
    worker = threading.Thread(target=answer)
    worker.start()
    worker.join()
print(json.dumps({"warm_up_s": seconds[0], "seconds": seconds[1]}))
"""


def child(setting: str, thread: str, method: str) -> dict:
    """One fresh process, its environment free of the user's allocator variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    done = subprocess.run([sys.executable, "-c", CHILD, setting, thread, method], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise RuntimeError(f"child {setting} / {thread} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(repeats: int, method: str) -> dict:
    readings: dict[str, list[float]] = {f"{s} | {t}": [] for s in SETTINGS for t in THREADS}
    for round_ in range(repeats):
        for setting in SETTINGS:
            for thread in THREADS:
                seconds = child(setting, thread, method)["seconds"]
                readings[f"{setting} | {thread}"].append(seconds)
                print(f"round {round_ + 1}: {setting}, {thread} thread: {seconds:.2f} s", file=sys.stderr)
    return {"readings": readings, "median": {key: statistics.median(v) for key, v in readings.items()}}


def markdown(results: dict) -> str:
    m, r = results["median"], results["readings"]
    rows = [f"| {setting} | {thread} | {m[f'{setting} | {thread}']:.2f} s | "
            f"{', '.join(f'{x:.2f}' for x in r[f'{setting} | {thread}'])} | "
            f"{m[f'{setting} | {thread}'] / m[f'{setting} | main']:.2f} |"
            for setting in SETTINGS for thread in THREADS]
    machine = results["machine"]
    return "\n".join([
        "# glibc's allocator and a worker thread: `inverse predict`'s answer", "",
        f"Command: `{results['command']}`  ",
        f"Machine: {machine['cpu_model']}, {machine['cpus']} CPUs, torch {machine['torch']}; load average before "
        f"{results['load_before']}, after {results['load_after']}; each reading a fresh process (the shipped model, "
        f"`inverse/pretrained/example.png`, 10 candidates, `--refine {results['refine']}`, the second answer of the "
        f"process, on the thread that answered the first), {results['repeats']} interleaved rounds.", "",
        "| allocator | thread | median | each round (s) | / main thread, same allocator |", "|---|---|---:|---|---:|",
        *rows, "",
        "`limits`: `mallopt` mmap and trim thresholds of 1 GiB (the project's setting before this measurement); "
        "`limits + one arena`: the same and `M_ARENA_MAX` = 1 (`synth.allocator.tune_allocator`, what every "
        "command-line entry point and the web app apply at start-up).", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--refine", choices=("none", "gradient"), default="none")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = {"command": command_line(), "machine": machine_info(), "repeats": args.repeats,
               "refine": args.refine, "load_before": load_average()}
    results.update(measure(args.repeats, args.refine))
    results["load_after"] = load_average()
    text = markdown(results)
    write_results(args.out, "allocator_threads", results, text)
    print(text)


if __name__ == "__main__":
    main()
