"""Several inputs in one process against one process per input, interleaved in one run, for the two commands that
take several: ``inverse predict`` and ``specmask enhance``. Wall time per input, and whether the outputs are the same.

    python benchmarks/several_inputs.py [--inputs 4] [--repeats 2] [--commands predict enhance]
        [--out benchmarks/results/several_inputs]

The inputs are patches of the synth's prior rendered by ``python -m synth demo --seed S`` (seeds 21, 22, ...; their
``audio.wav``). Each round runs, in fresh processes (:func:`predict_before_after.run`: wall time, the child's own
peak memory), the command once on all inputs and once per input:

- ``inverse predict T1 .. TK --samples 10 --json --out DIR`` against ``inverse predict Ti --samples 10 --json --out
  DIRi`` (the same answers: each target's JSON);
- ``specmask enhance T1 .. TK -o DIR --json`` against ``specmask enhance Ti -o DIR/Ti.wav --json`` (the same
  answers: each output WAV's bytes).

One process starts Python, imports torch and the project and loads the models once instead of K times. Writes
``several_inputs.{json,md}``.
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
COMMANDS = ("predict", "enhance")


def make_inputs(count: int, folder: Path) -> list[Path]:
    """``count`` prior patches rendered to WAV by ``python -m synth demo`` (seeds 21, 22, ...), as ``seedS.wav``."""
    paths = []
    for seed in range(FIRST_SEED, FIRST_SEED + count):
        out = folder / f"seed{seed}"
        subprocess.run([sys.executable, "-m", "synth", "demo", "--seed", str(seed), "--out", str(out)], cwd=REPO,
                       check=True, capture_output=True)
        paths.append((out / "audio.wav").rename(folder / f"seed{seed}.wav"))
    return paths


def together_and_alone(command: str, inputs: list[Path], out: Path) -> tuple[list[str], list[list[str]]]:
    """The command line for all inputs at once, and one per input, writing under ``out``."""
    files = [str(path) for path in inputs]
    if command == "predict":
        base = [sys.executable, "-m", "inverse", "predict"]
        options = ["--samples", "10", "--json"]
        return ([*base, *files, *options, "--out", str(out / "together")],
                [[*base, path, *options, "--out", str(out / f"alone{k}")] for k, path in enumerate(files)])
    base = [sys.executable, "-m", "specmask", "enhance"]
    return ([*base, *files, "-o", str(out / "together"), "--json"],
            [[*base, path, "-o", str(out / f"alone{k}.wav"), "--json"] for k, path in enumerate(files)])


def same_outputs(command: str, inputs: list[Path], out: Path, together: str, alone: list[str]) -> bool:
    """Whether every input's output is the same in both ways (predict: its JSON; enhance: its WAV's bytes)."""
    if command == "predict":
        return json.loads(together) == [json.loads(text) for text in alone]
    return all((out / "together" / path.name).read_bytes() == (out / f"alone{k}.wav").read_bytes()
               for k, path in enumerate(inputs))


def measure(command: str, inputs: list[Path], repeats: int, scratch: Path) -> dict:
    readings = {"one process": {"wall_s": [], "peak_mib": []}, "a process each": {"wall_s": [], "peak_mib": []}}
    same = True
    for round_ in range(repeats):
        out = scratch / f"{command}{round_}"
        together, each = together_and_alone(command, inputs, out)
        seconds, peak, stdout = run(together, REPO)
        readings["one process"]["wall_s"].append(round(seconds, 2))
        readings["one process"]["peak_mib"].append(round(peak))
        total, peaks, outputs = 0.0, [], []
        for argv in each:
            seconds, peak, text = run(argv, REPO)
            total, outputs = total + seconds, outputs + [text]
            peaks.append(peak)
        readings["a process each"]["wall_s"].append(round(total, 2))
        readings["a process each"]["peak_mib"].append(round(max(peaks)))
        same &= same_outputs(command, inputs, out, stdout, outputs)
    for reading in readings.values():
        reading["median_wall_s"] = statistics.median(reading["wall_s"])
        reading["median_peak_mib"] = statistics.median(reading["peak_mib"])
        reading["per_input_s"] = reading["median_wall_s"] / len(inputs)
    return {"readings": readings, "same_outputs": same}


def markdown(results: dict) -> str:
    lines = ["# Several inputs in one process", "",
             f"Command: `{results['command']}` (commit {results['commit']})  ",
             f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
             f"{results['machine']['torch']}; load average before {results['load_before']}, after "
             f"{results['load_after']}; {results['inputs']} inputs (`python -m synth demo --seed S`, S = {FIRST_SEED}.."
             f"{FIRST_SEED + results['inputs'] - 1}), {results['repeats']} interleaved rounds of fresh processes.", "",
             "| command | how | wall time for all inputs: median (each round) | per input | peak memory (largest "
             "process) |", "|---|---|---:|---:|---:|"]
    summary = []
    for command, measured in results["measured"].items():
        r = measured["readings"]
        lines += [f"| `{'inverse predict --samples 10' if command == 'predict' else 'specmask enhance'}` | {name} | "
                  f"{x['median_wall_s']:.1f} s ({', '.join(f'{s:.1f}' for s in x['wall_s'])}) | "
                  f"{x['per_input_s']:.2f} s | {x['median_peak_mib']:.0f} MiB |" for name, x in r.items()]
        together, alone = r["one process"], r["a process each"]
        compared = "each target's JSON" if command == "predict" else "each WAV, byte for byte"
        ratio = together["median_wall_s"] / alone["median_wall_s"]
        summary.append(f"{command}: one process / a process each: wall time x{ratio:.2f} "
                       f"({alone['per_input_s'] - together['per_input_s']:.2f} s less per input); the same outputs "
                       f"({compared}): {'yes' if measured['same_outputs'] else 'NO'}.")
    return "\n".join([*lines, "", *summary, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=4, help="inputs per process (default 4)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS))
    parser.add_argument("--out", type=Path, default=RESULTS / "several_inputs")
    args = parser.parse_args()
    if args.inputs < 2 or args.repeats < 1:
        parser.error("--inputs must be at least 2 and --repeats at least 1")
    results = {"command": command_line(), "commit": git_commit(), "inputs": args.inputs, "repeats": args.repeats,
               "machine": machine_info(), "load_before": load_average(), "measured": {}}
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        inputs = make_inputs(args.inputs, scratch)
        for command in args.commands:
            results["measured"][command] = measure(command, inputs, args.repeats, scratch)
    results["load_after"] = load_average()
    text = markdown(results)
    write_results(args.out, "several_inputs", results, text)
    print(text)


if __name__ == "__main__":
    main()
