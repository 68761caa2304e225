"""Wall time of the commands a user runs, each in a fresh process, interleaved, with `import torch` as the
baseline measured in the same run (a shared machine's speed drifts; ratios to the baseline do not).

    python benchmarks/cli_timings.py [--repeats 3] [--out benchmarks/results]

Measures: ``python -c 'import torch'``; ``inverse predict inverse/pretrained/example.png --samples 10`` (the
shipped model, default pool) rendering on the eager path and on the fast path (:mod:`synth.fast_render`, built
before the first round), and on the fast path with ``--refine none``, with ``--seconds 6`` (a time budget) and with
``--quick`` (:mod:`inverse.quick`); ``python -m dataset_gen --n 64`` (examples/s end to end, lzf) on each path;
``specmask enhance`` on the shipped 4.6 s noisy example (wall time and the real-time factor the command reports). Writes
``cli_timings.{json,md}`` with the command line, machine facts and load averages before and after.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402

DATASET_ROWS = 64
PATHS = ("eager", "fast")
#: predict on the fast path with less work than the default: name -> extra options
VARIANTS = {"none": ["--refine", "none"], "seconds6": ["--seconds", "6"], "quick": ["--quick"]}


def wall(argv: list[str]) -> tuple[float, str]:
    """Seconds a command takes in a fresh process (from the repository root), and its stdout."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done.stdout


def measure(repeats: int) -> dict:
    python = sys.executable
    readings: dict[str, list[float]] = {"import_torch_s": [], "enhance_s": [], "enhance_rtf": [],
                                        **{f"{job}_{path}_s": [] for job in ("predict", "dataset") for path in PATHS},
                                        **{f"predict_{name}_s": [] for name in VARIANTS}}
    wall([python, "-m", "synth", "fast-render", "build"])  # once per machine: not part of any command's time
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(repeats):
            readings["import_torch_s"].append(wall([python, "-c", "import torch"])[0])
            for path in PATHS:
                readings[f"predict_{path}_s"].append(wall([python, "-m", "inverse", "predict",
                                                           "inverse/pretrained/example.png", "--samples", "10",
                                                           "--json", "--render", path])[0])
            for name, options in VARIANTS.items():
                readings[f"predict_{name}_s"].append(wall([python, "-m", "inverse", "predict",
                                                           "inverse/pretrained/example.png", "--samples", "10",
                                                           "--json", "--render", "fast", *options])[0])
            for path in PATHS:
                out = Path(scratch) / f"d{round_}_{path}.h5"
                readings[f"dataset_{path}_s"].append(wall([python, "-m", "dataset_gen", "--n", str(DATASET_ROWS),
                                                           "--out", str(out), "--quiet", "--render", path])[0])
            seconds, stdout = wall([python, "-m", "specmask", "enhance", "specmask/pretrained/example_noisy.wav",
                                    "-o", str(Path(scratch) / f"e{round_}.wav"), "--json"])
            readings["enhance_s"].append(seconds)
            readings["enhance_rtf"].append(json.loads(stdout)["real_time_factor"])
    medians = {key: statistics.median(values) for key, values in readings.items()}
    for path in PATHS:
        medians[f"dataset_{path}_examples_per_s"] = DATASET_ROWS / medians[f"dataset_{path}_s"]
        medians[f"predict_{path}_minus_import_torch_s"] = medians[f"predict_{path}_s"] - medians["import_torch_s"]
    for name in VARIANTS:
        medians[f"predict_{name}_minus_import_torch_s"] = medians[f"predict_{name}_s"] - medians["import_torch_s"]
    return {"readings": readings, "median": medians}


def markdown(results: dict) -> str:
    m = results["median"]
    return "\n".join([
        "# Command wall times (fresh processes)", "",
        f"Command: `{results['command']}`  ",
        f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
        f"{results['machine']['torch']}; load average before {results['load_before']}, after "
        f"{results['load_after']}; median of {results['repeats']} interleaved rounds.", "",
        "| command | median wall time |", "|---|---:|",
        f"| `python -c 'import torch'` (baseline) | {m['import_torch_s']:.2f} s |",
        *[f"| `inverse predict inverse/pretrained/example.png --samples 10 --render {path}` | "
          f"{m[f'predict_{path}_s']:.2f} s ({m[f'predict_{path}_minus_import_torch_s']:+.2f} s vs import torch) |"
          for path in PATHS],
        *[f"| `inverse predict inverse/pretrained/example.png --samples 10 --render fast {' '.join(options)}` | "
          f"{m[f'predict_{name}_s']:.2f} s ({m[f'predict_{name}_minus_import_torch_s']:+.2f} s vs import torch) |"
          for name, options in VARIANTS.items()],
        *[f"| `python -m dataset_gen --n {DATASET_ROWS} --out d.h5 --render {path}` | {m[f'dataset_{path}_s']:.2f} s "
          f"({m[f'dataset_{path}_examples_per_s']:.1f} examples/s end to end, start-up included) |" for path in PATHS],
        "| `specmask enhance specmask/pretrained/example_noisy.wav -o e.wav` (4.6 s of audio) | "
        f"{m['enhance_s']:.2f} s "
        f"(real-time factor {m['enhance_rtf']:.3f} as the command reports it: model compute only) |", "",
        f"predict, fast / eager: {m['predict_eager_s'] / m['predict_fast_s']:.2f}x less wall time; dataset_gen "
        f"--n {DATASET_ROWS}: {m['dataset_fast_examples_per_s'] / m['dataset_eager_examples_per_s']:.2f}x the "
        "examples/s. `--render auto` (predict's default) takes the fast path once it is built.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = {"command": command_line(), "machine": machine_info(), "repeats": args.repeats,
               "load_before": load_average()}
    results.update(measure(args.repeats))
    results["load_after"] = load_average()
    text = markdown(results)
    write_results(args.out, "cli_timings", results, text)
    print(text)


if __name__ == "__main__":
    main()
