"""Why pYIN hears another pitch in some of `predict`'s first candidates where CREPE hears the target's.

Reads the held-out run's per-target records (``inverse_quality.py``'s ``inverse_quality.partial.jsonl``) and takes
the in-domain targets whose pitch both trackers read alike, split into *misses* (pYIN puts the first candidate of
``hybrid_refined`` off the target's pitch) and as many *controls* (pYIN agrees; the first ones). For each it
re-runs predict's default exactly as ``inverse_quality.py`` did (target: the eager render of the row's
parameters; sampling seed = ``--seed`` + row; the shipped model and index), checks that the first candidate's
pYIN pitch is the recorded one, and measures, on the long-term average power spectrum the ranking already
computed (8192-point frames, 2 Hz bins), the share of the sound's energy within +-3 % of the target's f0 / 2 and
3 f0 / 2 (:func:`synth.perceptual.band_share_db`, which the ranking's sub-octave term now uses): the partials that
a sound an octave below adds (its odd harmonics). A candidate *adds a sub-octave*
when either share is at least ``--excess-db`` above the target's and above ``--floor-db`` of its own energy.

    python benchmarks/pitch_misses.py --targets data/test_p2.h5 [--records DIR/inverse_quality.partial.jsonl]

The records must come from the ``predict`` that runs here: ``benchmarks/results/predict_default``'s were made before
the ranking's sub-octave term (its results here, at commit 8c1d1e6); ``predict_suboctave``'s with it.

Writes ``pitch_misses.{json,md}`` beside the records.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import h5py
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.refine import RefineConfig, refine_candidates  # noqa: E402
from inverse.sampling import Candidates, SamplingConfig, scored_pool  # noqa: E402
from inverse.target import Target  # noqa: E402
from synth.perceptual import band_share_db  # noqa: E402
from synth.pitch import pyin_pitch  # noqa: E402
from synth.voice import render  # noqa: E402

RECORDS = RESULTS / "predict_default" / "inverse_quality.partial.jsonl"
LABELS = {"misses": "miss", "controls": "control"}


def two_tracker_targets(records: Path) -> tuple[list[int], list[int], dict[int, float | None]]:
    """Rows of the in-domain targets whose pitch both trackers read alike: those whose first candidate pYIN
    misses, those it hears right, and every such row's recorded pYIN reading of that candidate (Hz)."""
    misses, hits, readings = [], [], {}
    for line in records.read_text().splitlines():
        r = json.loads(line)
        pitch = r.get("target_pitch") or {}
        if r.get("group") != "in_domain" or not (pitch.get("clear") and pitch.get("trackers_agree")):
            continue
        row, judged = int(r["name"].removeprefix("row")), r["methods"]["hybrid_refined"].get("pitch_pyin") or {}
        (hits if judged.get("within") else misses).append(row)
        readings[row] = judged.get("f0_hz")
    return misses, hits, readings


def row_default(predictor: Predictor, data: h5py.File, row: int, seed: int) -> tuple[Target, Candidates]:
    """predict's default on dataset row ``row`` as ``inverse_quality.py`` runs it: the target is the eager render
    of the row's parameters, the sampling seed ``seed + row``, ranking and refinement on the fast render."""
    target = Target.from_audio(render(torch.from_numpy(data["params"][row:row + 1]), path="eager")[0])
    config = SamplingConfig(seed=seed + row)
    pool = scored_pool(predictor.model, target, config, "fast", index=predictor.index)
    return target, refine_candidates(*pool, target, RefineConfig(), config, "fast")


def examine(predictor: Predictor, data: h5py.File, row: int, seed: int) -> dict:
    """predict's default on in-domain row ``row`` as the held-out run made it; sub-octave energy of both sounds."""
    target, candidates = row_default(predictor, data, row, seed)
    f0 = candidates.pitch.target_hz  # the pitch check's CREPE reading (these targets have a clear pitch)
    result = {"row": row, "f0_hz": f0, "candidate_pyin_hz": float(pyin_pitch(candidates.audio[:1])[0])}
    for name, hz in (("half", f0 / 2), ("three_halves", 1.5 * f0)):
        result[name] = {"target_db": float(band_share_db(target.features.shape, hz)[0]),
                        "candidate_db": float(band_share_db(candidates.scores.shape[:1], hz)[0])}
    return result


def same_reading(now: float, recorded: float | None) -> bool:
    """The pYIN reading equals the record's (to 0.01 Hz; both NaN where pYIN found no pitch)."""
    if recorded is None or math.isnan(recorded):
        return math.isnan(now)
    return abs(now - recorded) < 0.01


def adds_suboctave(r: dict, excess_db: float, floor_db: float) -> bool:
    return any(r[k]["candidate_db"] >= max(r[k]["target_db"] + excess_db, floor_db) for k in ("half", "three_halves"))


def markdown(results: dict) -> str:
    a = results["args"]
    lines = ["# pYIN's misses on predict's first candidates: sub-octave partials", "",
             f"Command: `{results['command']}` (commit {results['commit']}; {results['machine']['cpu_model']}, load "
             f"average {results['load_average'][0]} at the start, {results['load_average'][1]} at the end; "
             f"{results['seconds']:.0f} s).", "",
             "In-domain targets whose pitch CREPE and pYIN read alike; *miss*: pYIN puts predict's first candidate "
             "off the target's pitch (the held-out run's records), *control*: it agrees. Share of each sound's "
             "energy within +-3 % of the target's f0 / 2 and 3 f0 / 2 (what a sound an octave below adds), dB; a "
             f"candidate adds a sub-octave when either share is >= {a['excess_db']:g} dB above the target's and "
             f">= {a['floor_db']:g} dB. pYIN (candidate): its reading now, which must equal the record's.", "",
             "| group | row | f0 (Hz) | pYIN, candidate (Hz) | f0/2: target / candidate (dB) | 3f0/2: target / "
             "candidate (dB) | adds a sub-octave |", "|---|---:|---:|---:|---:|---:|---|"]
    for group in ("misses", "controls"):
        for r in results[group]:
            lines.append(f"| {LABELS[group]} | {r['row']} | {r['f0_hz']:.1f} | {r['candidate_pyin_hz']:.1f} | "
                         f"{r['half']['target_db']:.1f} / {r['half']['candidate_db']:.1f} | "
                         f"{r['three_halves']['target_db']:.1f} / {r['three_halves']['candidate_db']:.1f} | "
                         f"{'yes' if r['adds_suboctave'] else 'no'} |")
    for group in ("misses", "controls"):
        rows = results[group]
        lines.append("")
        lines.append(f"{group}: {sum(r['adds_suboctave'] for r in rows)} of {len(rows)} candidates add a sub-octave; "
                     f"{sum(r['reproduced'] for r in rows)} of {len(rows)} pYIN readings equal the record's.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=Path, required=True, help="the held-out dataset the records were made on")
    parser.add_argument("--records", type=Path, default=RECORDS, help="inverse_quality.py's per-target records")
    parser.add_argument("--seed", type=int, default=0, help="inverse_quality.py's --seed (default 0)")
    parser.add_argument("--controls", type=int, default=None, help="controls (default: as many as misses)")
    parser.add_argument("--excess-db", type=float, default=10.0)
    parser.add_argument("--floor-db", type=float, default=-30.0)
    args = parser.parse_args(argv)
    if not args.records.exists() or not args.targets.exists():
        parser.error(f"need {args.records} (inverse_quality.py's records) and {args.targets}")
    torch.set_grad_enabled(False)
    started, load_start = time.perf_counter(), load_average()
    misses, hits, recorded = two_tracker_targets(args.records)
    predictor = Predictor.from_checkpoint()
    results = {"command": command_line(), "commit": git_commit(), "machine": machine_info(), "args": vars(args) | {
        "targets": str(args.targets), "records": str(args.records)}}
    with h5py.File(args.targets, "r") as data:
        for group, rows in (("misses", misses), ("controls", hits[: len(misses) if args.controls is None
                                                                   else args.controls])):
            results[group] = []
            for row in rows:
                r = examine(predictor, data, row, args.seed)
                r["adds_suboctave"] = adds_suboctave(r, args.excess_db, args.floor_db)
                r["reproduced"] = same_reading(r["candidate_pyin_hz"], recorded[row])
                results[group].append(r)
                print(f"{group} row {row}: pYIN {r['candidate_pyin_hz']:.1f} Hz, sub-octave "
                      f"{'yes' if r['adds_suboctave'] else 'no'}", flush=True)
    results["seconds"] = time.perf_counter() - started
    results["load_average"] = [load_start, load_average()]
    paths = write_results(args.records.parent, "pitch_misses", results, markdown(results))
    print(f"wrote {paths[0]} and {paths[1]}")


if __name__ == "__main__":
    main()
