"""How much does ``inverse predict``'s answer depend on its ``--seed``? Runs of ``inverse_quality.py`` on the same
targets that differ only in ``--seed``, compared target by target.

    python benchmarks/inverse_quality.py ... --methods hybrid_refined --seed S --out RUNS/seedS   # for each seed
    python benchmarks/seed_spread.py RUNS/seed0 RUNS/seed1 RUNS/seed2 [--out DIR]

Per group (in-domain, sox, fluidsynth, espeak-ng) over the targets every run answered: each seed's mean best-of-10
multi-scale distance (MSS); per target the spread, the worst seed's best-of-10 over the best seed's less one, with
its median, 90th percentile and largest; how much closer the best of the seeds' answers is than seed 0's alone
(an oracle: it knows the true sound); and how much closer the answer whose first candidate matches the target closest
is (what a tool that tried several seeds could keep: it sees the match, not the true sound), with the targets it made
closer and farther. ``inverse predict`` has no such option: on 34 targets it was 0.4-1.7 % closer at three times the
time (``benchmarks/results/seed_spread_34/``). Writes ``seed_spread.{json,md}``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import command_line, git_commit, read_records, write_results  # noqa: E402
from benchmarks.compare_runs import records_file  # noqa: E402
from benchmarks.inverse_quality import GROUPS, merge_records  # noqa: E402


def best_of_ten(folder: Path, method: str) -> dict[tuple[str, str], tuple[float, float]]:
    """``(group, name) -> (best-of-10 MSS, the first candidate's match)`` of ``method`` in the run at ``folder``."""
    path = records_file(folder)
    if path is None:
        raise SystemExit(f"error: {folder}: no inverse_quality records (inverse_quality.partial.jsonl or "
                         "records.jsonl)")
    return {(r["group"], r["name"]): (r["methods"][method]["best_mss"], r["methods"][method]["best_match"])
            for r in merge_records(read_records(path)) if method in r["methods"]}


def spread(runs: list[dict[tuple[str, str], tuple[float, float]]]) -> dict:
    """Per group, over the targets of every run: see the module docstring."""
    shared = set.intersection(*(set(run) for run in runs))
    out = {}
    for group in GROUPS:
        targets = sorted(key for key in shared if key[0] == group)
        if not targets:
            continue
        mss = [{t: run[t][0] for t in targets} for run in runs]
        spreads = sorted(max(run[t] for run in mss) / min(run[t] for run in mss) - 1.0 for t in targets)
        first, best = [mss[0][t] for t in targets], [min(run[t] for run in mss) for t in targets]
        # keeping the run whose first candidate matches closest (the earliest on a tie)
        kept = [mss[min(range(len(runs)), key=lambda k: (runs[k][t][1], k))][t] for t in targets]
        out[group] = {"targets": len(targets),
                      "mean_best_mss": [statistics.mean(run.values()) for run in mss],
                      "median_spread": statistics.median(spreads),
                      "p90_spread": spreads[math.ceil(0.9 * len(spreads)) - 1], "max_spread": spreads[-1],
                      "best_of_seeds_vs_first": statistics.mean(best) / statistics.mean(first) - 1.0,
                      "kept_by_match_vs_first": statistics.mean(kept) / statistics.mean(first) - 1.0,
                      "kept_by_match_closer": sum(k < f for k, f in zip(kept, first)),
                      "kept_by_match_farther": sum(k > f for k, f in zip(kept, first))}
    return out


def markdown(results: dict) -> str:
    seeds = len(results["runs"])
    lines = ["# `inverse predict` with other seeds", "", f"`{results['command']}` (commit {results['commit']}); "
             f"runs: {', '.join(results['runs'])}", "",
             "Best-of-10 multi-scale distance (MSS) per seed; spread: per target, the worst seed's over the best "
             "seed's, less one; the best of the seeds: per target the closest answer of any seed (an oracle), against "
             "the first run's alone; kept by its match: per target the answer whose first candidate matches the "
             "target closest, against the first run's (targets closer / farther).", "",
             f"| group | targets | mean best-of-10 MSS, each of {seeds} runs | spread: median | 90th percentile | "
             f"largest | the best of the {seeds} against the first | kept by its match, against the first |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    for group, row in results["groups"].items():
        means = " / ".join(f"{m:.3f}" for m in row["mean_best_mss"])
        lines.append(f"| {group} | {row['targets']} | {means} | {100 * row['median_spread']:.1f} % | "
                     f"{100 * row['p90_spread']:.1f} % | {100 * row['max_spread']:.1f} % | "
                     f"{100 * row['best_of_seeds_vs_first']:+.1f} % | {100 * row['kept_by_match_vs_first']:+.1f} % "
                     f"({row['kept_by_match_closer']} / {row['kept_by_match_farther']}) |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="inverse_quality.py output folders, one per seed")
    parser.add_argument("--method", default="hybrid_refined", help="the method compared (default hybrid_refined)")
    parser.add_argument("--out", type=Path, help="where seed_spread.{json,md} go (default: the first run's folder)")
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        raise SystemExit("error: expected at least two runs (folders) to compare")
    results = {"command": command_line(), "commit": git_commit(), "runs": [str(run) for run in args.runs],
               "method": args.method, "groups": spread([best_of_ten(run, args.method) for run in args.runs])}
    json_path, md_path = write_results(args.out or args.runs[0], "seed_spread", results, markdown(results))
    print(markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
