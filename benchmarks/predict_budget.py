"""`inverse predict --seconds S`: is the time budget kept, and what does a shorter one cost in closeness?

    python benchmarks/predict_budget.py [--targets data/test_p2.h5] [--n 8] [--seconds 5 8 12] [--out DIR]

For each of the first ``--n`` rows of a held-out dataset (matched against its exact audio, as
``benchmarks/inverse_quality.py`` does), ``Predictor.predict`` runs with each budget of ``--seconds`` and once without
one (the default: all 20 gradient steps), interleaved, in one process with the shipped model, flow and index. Per run:
the seconds ``predict`` took (target loading to the chosen ten; start-up and writing files are outside any budget; a
budget under 4 s answers as ``--quick`` does, as on the command line), the refinement that ran (gradient steps taken, or
none when the pool used the budget up), where the pitch check stopped (its rounds, when the budget cut them short), how
many of the ten have a clearly pitched target's pitch and the best-of-10 multi-scale spectral distance. Writes
``predict_budget.{json,md}`` with the command, machine facts and load averages; each target's record is appended to
``records.jsonl`` as it is measured (``--resume`` keeps them).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    RESULTS,
    append_record,
    command_line,
    load_average,
    machine_info,
    read_records,
    write_results,
)

from dataset_gen.reader import SpectrogramDataset  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.quick import quick_budget, quick_options, quick_refine  # noqa: E402
from inverse.target import Target  # noqa: E402
from synth import render  # noqa: E402
from synth.allocator import tune_allocator  # noqa: E402

DEFAULT = "default"  # the run without a budget


def measure(predictor: Predictor, target: Target, seconds: float | None) -> dict:
    """One answer with ``seconds`` as its budget (None: the default; under 4 s as ``--quick``, as the command line and
    the web app answer it): time, refinement and closeness."""
    quick = quick_budget(seconds)
    started = time.perf_counter()
    prediction = predictor.predict(target, 10, seconds=seconds, render="fast", **(quick_options(10) if quick else {}),
                                   refine=quick_refine(budget=True) if quick else None)
    taken = time.perf_counter() - started
    refinement, check = prediction.refinement or {}, prediction.candidates.pitch
    clear = check is not None and check.checked
    return {"seconds": taken, "method": refinement.get("method"), "steps": refinement.get("steps"),
            "pitch_rounds": refinement.get("pitch_rounds"), "best_mss": float(prediction.candidates.mss.min()),
            "on_pitch": int(check.agrees.sum()) if clear else None}


def table(records: list[dict], budgets: list[float]) -> str:
    """Markdown rows per budget: time kept, steps, closeness against the default on the same targets."""
    lines = ["| budget | targets | predict's seconds, median (max) | over the budget | gradient steps, median "
             "(range) | no refinement | pitch check stopped | of the ten on a clear target's pitch | best-of-10 MSS | "
             "vs the default, paired |",
             "|---|---:|---|---:|---|---:|---:|---:|---:|---:|"]
    default = [r["runs"][DEFAULT]["best_mss"] for r in records]
    for key in [*(f"{s:g}" for s in budgets), DEFAULT]:
        runs = [r["runs"][key] for r in records]
        seconds = [run["seconds"] for run in runs]
        steps = [run["steps"] for run in runs if run["steps"] is not None]
        mss = [run["best_mss"] for run in runs]
        over = "-" if key == DEFAULT else f"{sum(s > float(key) for s in seconds)} of {len(runs)}"
        ratio = statistics.mean(m / d for m, d in zip(mss, default))
        step_text = f"{statistics.median(steps):g} ({min(steps)}-{max(steps)})" if steps else "-"
        pitched = [run["on_pitch"] for run in runs if run.get("on_pitch") is not None]
        stopped = sum(run.get("pitch_rounds") is not None for run in runs)
        lines.append(f"| {'none (20 steps)' if key == DEFAULT else key + ' s'} | {len(runs)} | "
                     f"{statistics.median(seconds):.1f} ({max(seconds):.1f}) | {over} | {step_text} | "
                     f"{sum(run['method'] == 'none' for run in runs)} | {'-' if key == DEFAULT else stopped} | "
                     f"{sum(pitched)} of {10 * len(pitched)} | {statistics.mean(mss):.3f} | "
                     f"{100 * (ratio - 1):+.1f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default="data/test_p2.h5", help="held-out dataset (default data/test_p2.h5)")
    parser.add_argument("--n", type=int, default=8, help="targets: its first rows (default 8)")
    parser.add_argument("--seconds", type=float, nargs="+", default=[5.0, 8.0, 12.0], help="budgets (default 5 8 12)")
    parser.add_argument("--out", type=Path, default=RESULTS / "predict_budget")
    parser.add_argument("--resume", action="store_true", help="keep the targets already measured in --out")
    args = parser.parse_args(argv)
    tune_allocator()  # as the command-line tools do
    args.out.mkdir(parents=True, exist_ok=True)
    partial = args.out / "records.jsonl"
    if not args.resume:
        partial.unlink(missing_ok=True)
    records = read_records(partial)
    load_before = load_average()
    predictor = Predictor.from_checkpoint()
    data = SpectrogramDataset(args.targets, audio=False)
    for i in range(len(records), min(args.n, len(data))):
        _, truth = data[i]
        target = Target.from_audio(render(truth[None])[0], source=f"{args.targets}:row{i}")
        runs = {}
        order = [*args.seconds, None] if i % 2 == 0 else [None, *args.seconds]  # interleaved: drift hits both
        for seconds in order:
            runs[DEFAULT if seconds is None else f"{seconds:g}"] = measure(predictor, target, seconds)
        record = {"row": i, "runs": runs}
        append_record(partial, record)
        records.append(record)
        print(f"row {i}: " + ", ".join(f"{k}: {v['seconds']:.1f} s, {v['steps']} steps" for k, v in runs.items()),
              file=sys.stderr, flush=True)
    results = {"command": command_line(), "machine": machine_info(), "torch_threads": torch.get_num_threads(),
               "load_average_before": load_before, "load_average_after": load_average(), "budgets": args.seconds,
               "records": records}
    markdown = (f"# `inverse predict --seconds`: the budget kept, and closeness\n\nCommand: `{results['command']}`\n\n"
                f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
                f"{results['machine']['torch']}; load average before {load_before}, after "
                f"{results['load_average_after']}. {len(records)} held-out targets (the first rows of "
                f"`{args.targets}`, matched against their audio), fast render, the shipped model, flow and index; "
                "budgets and the default interleaved per target. Seconds: `Predictor.predict` (loading the target "
                "to the chosen ten), what a budget covers; start-up and writing files are outside it.\n\n"
                f"{table(records, args.seconds)}\n")
    write_results(args.out, "predict_budget", results, markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
