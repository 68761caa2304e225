"""Several targets in one `inverse predict` process against one process per target, interleaved in one run: wall
time per target, and whether the answers are the same.

    python benchmarks/predict_several.py [--targets 4] [--repeats 2] [--out benchmarks/results/predict_several]

The targets are patches of the synth's prior rendered by ``python -m synth demo --seed S`` (seeds 21, 22, ...; their
``audio.wav``). Each round runs ``inverse predict T1 .. TK --samples 10 --json --out DIR`` once and ``inverse
predict Ti --samples 10 --json --out DIRi`` for each target, in fresh processes (:func:`predict_before_after.run`:
wall time, the child's own peak memory). One process starts Python, imports torch and the project and loads the
model, flow, index and compiled render once instead of K times. Writes ``predict_several.{json,md}``.
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
from common import REPO, RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from predict_before_after import run  # noqa: E402

FIRST_SEED = 21


def make_targets(count: int, folder: Path) -> list[Path]:
    """``count`` prior patches rendered to WAV by ``python -m synth demo`` (seeds 21, 22, ...)."""
    paths = []
    for seed in range(FIRST_SEED, FIRST_SEED + count):
        out = folder / f"seed{seed}"
        subprocess.run([sys.executable, "-m", "synth", "demo", "--seed", str(seed), "--out", str(out)], cwd=REPO,
                       check=True, capture_output=True)
        paths.append(out / "audio.wav")
    return paths


def measure(count: int, repeats: int) -> dict:
    predict = [sys.executable, "-m", "inverse", "predict"]
    readings = {"one process": {"wall_s": [], "peak_mib": []}, "a process each": {"wall_s": [], "peak_mib": []}}
    same = True
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        targets = make_targets(count, folder)
        for round_ in range(repeats):
            seconds, peak, stdout = run([*predict, *map(str, targets), "--samples", "10", "--json", "--out",
                                         str(folder / f"together{round_}")], REPO)
            together = json.loads(stdout)
            readings["one process"]["wall_s"].append(round(seconds, 2))
            readings["one process"]["peak_mib"].append(round(peak))
            total, peaks = 0.0, []
            for k, target in enumerate(targets):
                seconds, peak, stdout = run([*predict, str(target), "--samples", "10", "--json", "--out",
                                             str(folder / f"alone{round_}_{k}")], REPO)
                total += seconds
                peaks.append(peak)
                same &= json.loads(stdout) == together[k]
            readings["a process each"]["wall_s"].append(round(total, 2))
            readings["a process each"]["peak_mib"].append(round(max(peaks)))
    for reading in readings.values():
        reading["median_wall_s"] = statistics.median(reading["wall_s"])
        reading["median_peak_mib"] = statistics.median(reading["peak_mib"])
        reading["per_target_s"] = reading["median_wall_s"] / count
    return {"readings": readings, "same_answers": same}


def markdown(results: dict) -> str:
    r = results["readings"]
    together, alone = r["one process"], r["a process each"]
    rows = [f"| {name} | {x['median_wall_s']:.1f} s ({', '.join(f'{s:.1f}' for s in x['wall_s'])}) | "
            f"{x['per_target_s']:.1f} s | {x['median_peak_mib']:.0f} MiB |" for name, x in r.items()]
    return "\n".join([
        "# Several targets in one `inverse predict` process", "",
        f"Command: `{results['command']}` (commit {results['commit']})  ",
        f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
        f"{results['machine']['torch']}; load average before {results['load_before']}, after "
        f"{results['load_after']}; {results['targets']} targets (`python -m synth demo --seed S`, S = {FIRST_SEED}.."
        f"{FIRST_SEED + results['targets'] - 1}), {results['repeats']} interleaved rounds of fresh processes "
        "(`inverse predict ... --samples 10 --json --out DIR`).", "",
        "| how | wall time for all targets: median (each round) | per target | peak memory (largest process) |",
        "|---|---:|---:|---:|", *rows, "",
        f"One process / a process each: wall time x{together['median_wall_s'] / alone['median_wall_s']:.2f} "
        f"({alone['per_target_s'] - together['per_target_s']:.1f} s less per target). Same answers (the JSON of "
        f"every target, byte for byte as parsed): {'yes' if results['same_answers'] else 'NO'}.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=4, help="targets per process (default 4)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS / "predict_several")
    args = parser.parse_args()
    if args.targets < 2 or args.repeats < 1:
        parser.error("--targets must be at least 2 and --repeats at least 1")
    results = {"command": command_line(), "commit": git_commit(), "targets": args.targets, "repeats": args.repeats,
               "machine": machine_info(), "load_before": load_average()}
    results.update(measure(args.targets, args.repeats))
    results["load_after"] = load_average()
    text = markdown(results)
    write_results(args.out, "predict_several", results, text)
    print(text)


if __name__ == "__main__":
    main()
