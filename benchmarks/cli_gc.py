"""What the command-line entry points gain from pausing the garbage collector during their imports and freezing
what the imports made (:func:`synth.install_check.run_checked`), against the entry as it was before, in the same
run: fresh processes, interleaved, medians.

    python benchmarks/cli_gc.py [--repeats 5] [--dataset-rows 32 1000] [--out benchmarks/results]

Each command runs twice a round: as ``python -m PACKAGE ...`` (this checkout's entry: collector paused during the
imports, then :func:`gc.freeze`) and through the previous entry's exact steps (tune the allocator, check the
installation, import the command, run it; the collector left alone) from ``python -c``. Commands: ``import torch``
alone (plain, and with the same collector handling), ``python -m dataset_gen --n N`` (lzf, default workers),
``inverse predict inverse/pretrained/example.png --samples 10 --json`` and ``specmask enhance`` on the shipped
4.6 s example. The fast render is built before the first round. Writes ``cli_gc.{json,md}`` with the command line,
machine facts and load averages.
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

#: The entry point as it was before the collector handling (``synth.install_check.run_checked`` at commit 6931374).
BEFORE = ("import importlib, sys\n"
          "from synth.allocator import tune_allocator\n"
          "from synth.install_check import check_install\n"
          "tune_allocator()\n"
          "check_install()\n"
          "module = sys.argv.pop(1)\n"
          "raise SystemExit(importlib.import_module(module).main())\n")
TORCH_PLAIN = "import torch"
TORCH_FROZEN = "import gc; gc.disable(); import torch; gc.freeze(); gc.enable()"


def commands(scratch: Path, dataset_rows: list[int]) -> dict[str, tuple[str, list[str]]]:
    """name -> (the command's CLI module, its arguments); output files go to ``scratch`` (replaced each run)."""
    jobs = {f"python -m dataset_gen --n {n}": ("dataset_gen.cli", ["--n", str(n), "--out", str(scratch / f"d{n}.h5"),
                                                                    "--quiet", "--overwrite"]) for n in dataset_rows}
    jobs["inverse predict example.png --samples 10 --json"] = (
        "inverse.cli", ["predict", "inverse/pretrained/example.png", "--samples", "10", "--json"])
    jobs["specmask enhance example_noisy.wav"] = (
        "specmask.cli", ["enhance", "specmask/pretrained/example_noisy.wav", "-o", str(scratch / "e.wav")])
    return jobs


def measure(repeats: int, dataset_rows: list[int]) -> dict:
    python = sys.executable
    wall([python, "-m", "synth", "fast-render", "build"])  # once per machine: not part of any command's time
    readings: dict[str, dict[str, list[float]]] = {"import torch": {"before": [], "after": []}}
    with tempfile.TemporaryDirectory() as scratch:
        jobs = commands(Path(scratch), dataset_rows)
        readings |= {name: {"before": [], "after": []} for name in jobs}
        for round_ in range(repeats):
            order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
            for side in order:
                readings["import torch"][side].append(
                    wall([python, "-c", TORCH_PLAIN if side == "before" else TORCH_FROZEN])[0])
            for name, (module, args) in jobs.items():
                for side in order:
                    argv = ([python, "-c", BEFORE, module, *args] if side == "before"
                            else [python, "-m", module.removesuffix(".cli"), *args])
                    readings[name][side].append(wall(argv)[0])
            print(f"round {round_ + 1}/{repeats} done", file=sys.stderr)
    medians = {name: {side: statistics.median(values) for side, values in sides.items()}
               for name, sides in readings.items()}
    return {"readings": readings, "median": medians}


def markdown(results: dict) -> str:
    rows = []
    for name, m in results["median"].items():
        before, after = m["before"], m["after"]
        rows.append(f"| `{name}` | {before:.2f} s | {after:.2f} s | {after - before:+.2f} s | {before / after:.3f}x |")
    return "\n".join([
        "# The collector paused during the imports and frozen after them (fresh processes)", "",
        f"Command: `{results['command']}`  ",
        f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
        f"{results['machine']['torch']}; load average before {results['load_before']}, after "
        f"{results['load_after']}; median of {results['repeats']} interleaved rounds (the two sides alternate "
        "which goes first).", "",
        "Before: the entry point's steps as at commit 6931374 (the collector left alone). After: `python -m ...` "
        "(collector paused during the imports, `gc.freeze()` after them). For `import torch` the same two handlings "
        "around the bare import.", "",
        "| command | before | after | change | speed-up |", "|---|---:|---:|---:|---:|", *rows, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dataset-rows", type=int, nargs="+", default=[32, 1000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results = {"command": command_line(), "machine": machine_info(), "repeats": args.repeats,
               "load_before": load_average()}
    results.update(measure(args.repeats, args.dataset_rows))
    results["load_after"] = load_average()
    text = markdown(results)
    write_results(args.out, "cli_gc", results, text)
    print(text)


if __name__ == "__main__":
    main()
