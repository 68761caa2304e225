"""Wall time of ``inverse predict TARGET --quick`` (:mod:`inverse.quick`) on several kinds of target, each in a fresh
process, interleaved with ``python -c 'import torch'`` (issue 13 asks for an answer within 2 s of it, on the same
machine in the same run).

    python benchmarks/quick_timings.py [--repeats 3] [--out benchmarks/results/predict_quick]

Targets: the shipped example spectrogram and sounds from sox, fluidsynth and espeak-ng
(:mod:`external_sounds`; those whose tool is missing are left out and named). Writes ``quick_timings.{json,md}``:
per target the median wall time and its excess over ``import torch``'s median, with the load average before and
after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_timings import wall  # noqa: E402
from common import RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402
from external_sounds import espeak_phrases, fluidsynth_notes, missing_tools, sox_notes, sox_one_shots  # noqa: E402

BUDGET_S = 2.0  # issue 13: within 2 s of `import torch`


def targets(folder: Path) -> list[tuple[str, str]]:
    """(name, path) of the timed targets: the example PNG and what the installed tools make."""
    found = [("example.png", "inverse/pretrained/example.png")]
    missing = missing_tools()
    if "sox" not in missing:
        found += sox_notes(folder, 2) + sox_one_shots(folder, 1)
    if "fluidsynth" not in missing:
        found += fluidsynth_notes(folder, 2)
    if "espeak-ng" not in missing:
        found += espeak_phrases(folder, 1)
    return [(name, str(path)) for name, path in found]


def measure(repeats: int) -> dict:
    python = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        timed = targets(Path(scratch))
        readings: dict[str, list[float]] = {"import torch": [], **{name: [] for name, _ in timed}}
        for _ in range(repeats):
            readings["import torch"].append(wall([python, "-c", "import torch"])[0])
            for name, path in timed:
                readings[name].append(wall([python, "-m", "inverse", "predict", path, "--quick", "--json"])[0])
    medians = {name: statistics.median(values) for name, values in readings.items()}
    return {"readings": readings, "median": medians, "missing_tools": missing_tools(),
            "over_import_torch_s": {name: medians[name] - medians["import torch"] for name, _ in timed}}


def markdown(results: dict) -> str:
    torch_s, over = results["median"]["import torch"], results["over_import_torch_s"]
    rows = [f"| `{name}` | {results['median'][name]:.2f} s | {excess:+.2f} s |" for name, excess in over.items()]
    within = sum(excess <= BUDGET_S for excess in over.values())
    return "\n".join([
        "# `inverse predict TARGET --quick`: wall time in fresh processes", "",
        f"Command: `{results['command']}`  ",
        f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
        f"{results['machine']['torch']}; load average before {results['load_before']}, after "
        f"{results['load_after']}; median of {results['repeats']} interleaved rounds"
        + (f"; tools missing: {', '.join(results['missing_tools'])}" if results["missing_tools"] else "") + ".", "",
        "| target | wall time | over `import torch` |", "|---|---:|---:|",
        f"| (`python -c 'import torch'`) | {torch_s:.2f} s | |", *rows, "",
        f"Within {BUDGET_S:g} s of `import torch`: {within} of {len(over)} targets (largest excess "
        f"{max(over.values()):+.2f} s).", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "predict_quick")
    args = parser.parse_args()
    results = {"command": command_line(), "machine": machine_info(), "repeats": args.repeats,
               "load_before": load_average()}
    results.update(measure(args.repeats))
    results["load_after"] = load_average()
    text = markdown(results)
    write_results(args.out, "quick_timings", results, text)
    print(text)


if __name__ == "__main__":
    main()
