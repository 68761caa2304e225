"""`inverse predict` at another revision and at this checkout, in fresh processes, interleaved in one run, with
`import torch` as the baseline: wall time, peak memory and what was matched.

    python benchmarks/predict_before_after.py --baseline REV [--repeats 3] [--target inverse/pretrained/example.png]
        [--out benchmarks/results/predict_before_after]

The baseline revision is checked out into a temporary git worktree (removed afterwards) and run from there with
this checkout's Python environment, so both sides share the interpreter, the packages and the fast-render cache;
only the project's code differs. Each command is the default answer a user asks for, with its files:
``inverse predict TARGET --samples 10 --json --out DIR``. Peak memory is the child's own maximum resident set
(``os.wait4``'s rusage), not the machine's: the child is forked from a small launcher process (:data:`LAUNCHER`),
because Linux counts a process's peak before its ``exec`` (a fork of a large parent, this script's or a test
runner's) into that maximum. The best candidate's match, MSS and pitch say whether the answer
changed. Writes ``predict_before_after.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    REPO,
    RESULTS,
    command_line,
    git_commit,
    load_average,
    machine_info,
    worktree,
    write_results,
)

#: Runs ``sys.argv[1:]`` as a child of this small interpreter (its stderr discarded) and writes the child's wall
#: seconds and peak resident set (KiB) to stderr, exiting with its status: the peak is the command's own, not that of
#: the process that started the launcher.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_maxrss, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory (MiB) and stdout of one command in a fresh process (:data:`LAUNCHER`)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], cwd=cwd, stdout=out, stderr=err, text=True)
        if process.returncode:
            raise RuntimeError(f"{' '.join(argv)} in {cwd} failed with exit status {process.returncode}")
        err.seek(0)
        seconds, peak_kib = err.read().split()[-2:]
        out.seek(0)
        return float(seconds), int(peak_kib) / 1024, out.read()


def best(stdout: str) -> dict:
    first = json.loads(stdout)["candidates"][0]
    return {key: first[key] for key in ("match", "mss", "distance_db", "pitch_hz")}


def measure(baseline: str, target: str, repeats: int) -> dict:
    python = sys.executable
    sides = {"import torch": None, f"predict at {baseline}": "baseline", "predict at this checkout": "current"}
    readings = {name: {"wall_s": [], "peak_mib": [], "best": None} for name in sides}
    with tempfile.TemporaryDirectory() as scratch:
        with worktree(baseline, Path(scratch) / "baseline") as tree:
            for round_ in range(repeats):
                for name, side in sides.items():
                    if side is None:
                        argv, cwd = [python, "-c", "import torch"], REPO
                    else:
                        cwd = tree if side == "baseline" else REPO
                        argv = [python, "-m", "inverse", "predict", str(REPO / target), "--samples", "10", "--json",
                                "--out", str(Path(scratch) / f"{side}{round_}")]
                    seconds, peak, stdout = run(argv, cwd)
                    readings[name]["wall_s"].append(round(seconds, 2))
                    readings[name]["peak_mib"].append(round(peak))
                    if side is not None:
                        readings[name]["best"] = best(stdout)
    for reading in readings.values():
        reading["median_wall_s"] = statistics.median(reading["wall_s"])
        reading["median_peak_mib"] = statistics.median(reading["peak_mib"])
    return readings


def markdown(results: dict) -> str:
    r = results["readings"]
    names = list(r)
    torch_s = r[names[0]]["median_wall_s"]
    before, after = r[names[1]], r[names[2]]
    rows = [f"| `{results['target']}`: {name} | {x['median_wall_s']:.2f} s ({x['median_wall_s'] - torch_s:+.2f} s vs "
            f"import torch) | {x['median_peak_mib']:.0f} MiB | {x['best']['match']:.4f} / {x['best']['mss']:.4f} / "
            f"{x['best']['pitch_hz']} Hz |" for name, x in ((names[1], before), (names[2], after))]
    return "\n".join([
        "# `inverse predict` before and after", "",
        f"Command: `{results['command']}` (this checkout: {results['commit']})  ",
        f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
        f"{results['machine']['torch']}; load average before {results['load_before']}, after "
        f"{results['load_after']}; median of {results['repeats']} interleaved rounds of fresh processes "
        "(`inverse predict TARGET --samples 10 --json --out DIR`).", "",
        "| command | median wall time | median peak memory | best candidate: match / MSS / pitch |",
        "|---|---:|---:|---|",
        f"| `python -c 'import torch'` (baseline) | {torch_s:.2f} s | {r[names[0]]['median_peak_mib']:.0f} MiB | |",
        *rows, "",
        f"This checkout / {results['baseline']}: wall time x{after['median_wall_s'] / before['median_wall_s']:.2f}, "
        f"peak memory x{after['median_peak_mib'] / before['median_peak_mib']:.2f}. Every reading: the JSON file.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the git revision to compare with (a commit, tag or branch)")
    parser.add_argument("--target", default="inverse/pretrained/example.png",
                        help="spectrogram or sound to match, relative to the repository root")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS / "predict_before_after")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    results = {"command": command_line(), "commit": git_commit(), "baseline": args.baseline, "target": args.target,
               "machine": machine_info(), "repeats": args.repeats, "load_before": load_average()}
    results["readings"] = measure(args.baseline, args.target, args.repeats)
    results["load_after"] = load_average()
    text = markdown(results)
    write_results(args.out, "predict_before_after", results, text)
    print(text)


if __name__ == "__main__":
    main()
