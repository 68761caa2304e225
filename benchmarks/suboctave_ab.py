"""The match distance's sub-octave term, with and without: predict's default on validation targets (issue 13).

``synth.perceptual.SUBOCTAVE_WEIGHT`` adds to the ranking distance how far a candidate's energy at f0 / 2 and
3 f0 / 2 of the target's pitch exceeds the target's: a layer an octave below that CREPE, the pitch check's
tracker, does not hear and pYIN does (``benchmarks/pitch_misses.py``). This chooses its weight on targets that
are not the held-out set: the first ``--rows`` rows of a validation dataset (a seed used neither for training nor
for the held-out targets), rendered on the eager path, kept where CREPE calls the pitch clear and pYIN reads the
same pitch (within 50 cents: the two-tracker rule of ``inverse_quality.py``). For each ``--weights`` value, each
target gets predict's default (the shipped model and index, pool + retrieval, 10 gradient steps, symmetry
expansion, pitch check; sampling seed ``--seed`` + row, fast render), and pYIN judges the first candidate.

    python benchmarks/suboctave_ab.py --targets data/val4_p2.h5 [--rows 300] [--weights 0 0.1] [--out DIR]

Records go to ``DIR/weight_<w>.jsonl`` as targets finish (a rerun keeps them), the chosen targets to
``DIR/targets.json``; the report to ``DIR/suboctave_ab.{json,md}``: per weight, the first candidate within 50
cents by pYIN (95 % Wilson interval), mean best-of-10 MSS and its change against the first weight (95 % bootstrap
interval), and the targets whose verdict changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import h5py
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import synth.perceptual as perceptual  # noqa: E402
from benchmarks.common import RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from benchmarks.inverse_quality import change_interval, share_interval  # noqa: E402
from benchmarks.pitch_misses import row_default  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from synth.pitch import estimate_pitch, pitch_agreement, pyin_pitch  # noqa: E402
from synth.voice import render  # noqa: E402


def two_tracker_rows(data: h5py.File, rows: int) -> dict[int, float]:
    """Rows among the first ``rows`` whose eager render CREPE calls clear and pYIN hears at the same pitch,
    with pYIN's reading (Hz)."""
    audio = torch.cat([render(p, path="eager") for p in torch.from_numpy(data["params"][:rows]).split(64)])
    crepe = estimate_pitch(audio)
    clear = crepe.clear.nonzero()[:, 0]
    pyin = pyin_pitch(audio[clear])
    agree = pitch_agreement(pyin, crepe.f0_hz[clear])["match"]
    return {int(row): float(pyin[i]) for i, row in enumerate(clear) if agree[i]}


def judged(predictor: Predictor, data: h5py.File, row: int, target_pyin_hz: float, seed: int) -> dict:
    """predict's default on ``row`` under the current ``SUBOCTAVE_WEIGHT``; pYIN's verdict on its first."""
    started = time.perf_counter()
    target, candidates = row_default(predictor, data, row, seed)
    first_hz = float(pyin_pitch(candidates.audio[:1])[0])
    within = bool(pitch_agreement(torch.tensor([first_hz]), torch.tensor([target_pyin_hz]))["match"][0])
    excess = perceptual.suboctave_excess(perceptual.features(candidates.audio[:1]), target.features, target.pitch_hz)
    return {"row": row, "within": within, "pyin": first_hz, "target_pyin": target_pyin_hz,
            "best_mss": float(candidates.mss.min()), "first_mss": float(candidates.mss[0]),
            "crepe_agrees": bool(candidates.pitch.agrees[0]) if candidates.pitch.checked else None,
            "excess": float(excess[0]), "s": time.perf_counter() - started}


def shown(path: Path) -> str:
    """``path`` relative to the repository where it lies inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def read_records(path: Path) -> dict[int, dict]:
    return {r["row"]: r for r in map(json.loads, path.read_text().splitlines())} if path.exists() else {}


def summarise(weights: list[float], records: dict[float, dict[int, dict]], rows: list[int]) -> dict:
    base = records[weights[0]]
    out = {}
    for w in weights:
        rec = records[w]
        hits = sum(rec[r]["within"] for r in rows)
        mss, base_mss = [rec[r]["best_mss"] for r in rows], [base[r]["best_mss"] for r in rows]
        out[f"{w:g}"] = {
            "targets": len(rows), "pyin_within": hits, "pyin_interval": share_interval(hits, len(rows)),
            "best_mss": sum(mss) / len(rows), "mss_change": sum(mss) / sum(base_mss) - 1,
            "mss_change_interval": change_interval(mss, base_mss),
            "mss_better": sum(a < b - 1e-6 for a, b in zip(mss, base_mss)),
            "mss_worse": sum(a > b + 1e-6 for a, b in zip(mss, base_mss)),
            "gained": [r for r in rows if rec[r]["within"] and not base[r]["within"]],
            "lost": [{"row": r, "ratio": rec[r]["pyin"] / rec[r]["target_pyin"]} for r in rows
                     if base[r]["within"] and not rec[r]["within"]],
            "seconds_per_target": sum(rec[r]["s"] for r in rows) / len(rows)}
    return out


def markdown(results: dict) -> str:
    a = results["args"]
    lines = ["# predict's default with and without the sub-octave term", "",
             f"Command: `{results['command']}` (commit {results['commit']}; {results['machine']['cpu_model']}, load "
             f"average {results['load_average'][0]} at the start, {results['load_average'][1]} at the end). This "
             f"invocation computed {results['computed']} of the records; the others were kept from earlier ones in "
             f"`{a['out']}` (s/target: each record's own time, under the load of its own run).", "",
             f"Targets: the first {a['rows']} rows of `{a['targets']}` (eager render) whose pitch CREPE calls clear "
             f"and pYIN reads alike: {len(results['targets'])}. First candidate within 50 cents by pYIN (95 % "
             "Wilson interval); best-of-10 MSS and its change against the first weight (95 % bootstrap interval "
             "over targets); targets whose verdict changed (lost: the candidate's pYIN pitch / the target's).", "",
             "| SUBOCTAVE_WEIGHT | pYIN within 50 c | best-of-10 MSS | MSS change | better / worse | gained | lost | "
             "s/target |", "|---:|---:|---:|---:|---:|---|---|---:|"]
    for w, s in results["summary"].items():
        low, high = s["pyin_interval"]
        c_low, c_high = s["mss_change_interval"]
        lost = ", ".join(f"{x['row']} ({x['ratio']:.3f})" for x in s["lost"])
        lines.append(f"| {w} | {s['pyin_within']}/{s['targets']} ({100 * low:.0f}-{100 * high:.0f} %) | "
                     f"{s['best_mss']:.3f} | {100 * s['mss_change']:+.1f} % ({100 * c_low:+.1f} .. "
                     f"{100 * c_high:+.1f}) | {s['mss_better']} / {s['mss_worse']} | "
                     f"{', '.join(map(str, s['gained']))} | {lost} | {s['seconds_per_target']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=Path, required=True, help="validation dataset (not the held-out set)")
    parser.add_argument("--rows", type=int, default=300, help="first rows examined (default 300)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, perceptual.SUBOCTAVE_WEIGHT],
                        help="SUBOCTAVE_WEIGHT values, the first one the reference (default: 0 and the shipped)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed of row r: seed + r (default 0)")
    parser.add_argument("--out", type=Path, default=RESULTS / "suboctave_ab")
    args = parser.parse_args(argv)
    if not args.targets.exists():
        parser.error(f"no such dataset: {args.targets}")
    torch.set_grad_enabled(False)
    args.out.mkdir(parents=True, exist_ok=True)
    load_start = load_average()
    with h5py.File(args.targets, "r") as data:
        chosen = args.out / "targets.json"
        if not chosen.exists():
            chosen.write_text(json.dumps(two_tracker_rows(data, args.rows)) + "\n")
        targets = {int(k): v for k, v in json.loads(chosen.read_text()).items()}
        predictor = Predictor.from_checkpoint()
        records, computed = {}, 0
        for w in args.weights:
            perceptual.SUBOCTAVE_WEIGHT = w
            path = args.out / f"weight_{w:g}.jsonl"
            records[w] = read_records(path)
            for row, target_hz in targets.items():
                if row in records[w]:
                    continue
                r = records[w][row] = judged(predictor, data, row, target_hz, args.seed)
                computed += 1
                with path.open("a") as f:
                    f.write(json.dumps(r) + "\n")
                print(f"weight {w:g} row {row}: pYIN {'within' if r['within'] else 'off'}, best MSS "
                      f"{r['best_mss']:.3f}", flush=True)
    results = {"command": command_line(), "commit": git_commit(), "machine": machine_info(),
               "load_average": [load_start, load_average()], "args": vars(args) | {"targets": str(args.targets),
                                                                                    "out": shown(args.out)},
               "targets": targets, "computed": computed, "summary": summarise(args.weights, records, list(targets))}
    paths = write_results(args.out, "suboctave_ab", results, markdown(results))
    print(f"wrote {paths[0]} and {paths[1]}")


if __name__ == "__main__":
    main()
