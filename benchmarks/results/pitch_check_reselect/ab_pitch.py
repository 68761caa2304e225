"""A/B of the pitch check (issue 13): the same refined pool as `inverse predict` builds (pool, 16 refined by 10
gradient steps, expanded), then the choice with the previous check (37ccfd9: on-pitch copies swapped in place of
their source, refused when they left another candidate outside 1.5x their MSS) and with the current one (copies
replace their source in the pool and the choice is made again), judged as benchmarks/inverse_quality.py judges
(best-of-10 MSS, the first candidate's pitch by CREPE and by pYIN).

Run from the repository root:

    git show 37ccfd9:inverse/pitch_check.py > /tmp/old_pitch_check.py
    PYTHONPATH=. python benchmarks/results/pitch_check_reselect/ab_pitch.py OUT.jsonl in    # clear-pitch in-domain
    PYTHONPATH=. python benchmarks/results/pitch_check_reselect/ab_pitch.py OUT.jsonl ood   # sox and fluidsynth notes
    PYTHONPATH=. python benchmarks/results/pitch_check_reselect/ab_pitch.py OUT.jsonl summary

`in` takes the clear-pitch targets among the in-domain records of benchmarks/results/predict_default/ (rows 0-125
when this was run); both append one JSON line per clear-pitch target to OUT.jsonl.
"""

import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.inverse_quality import OOD_INDEX, OUT_OF_DOMAIN, external_targets, merge_records
from dataset_gen.reader import SpectrogramDataset
from inverse import checkpoint
from inverse.predict import DEFAULT_MODEL
from inverse.refine import refine_gradient
from inverse.retrieval import DEFAULT_INDEX, RetrievalIndex
from inverse.sampling import (
    Candidates,
    SamplingConfig,
    choose,
    expand_by_symmetry,
    scored_pool,
    select_diverse,
    select_spread,
)
from inverse.target import Scores, Target, score
from synth import render
from synth.pitch import estimate_pitch, pitch_agreement, pyin_pitch

RECORDS = Path("benchmarks/results/predict_default/inverse_quality.partial.jsonl")


def targets(which: str) -> list[tuple[str, int, Target]]:
    """(name, the benchmark's seed for it, target) of the in-domain records or the sox and fluidsynth notes."""
    found = []
    if which == "in":
        records = merge_records([json.loads(line) for line in RECORDS.open()])
        rows = sorted(int(r["name"][3:]) for r in records
                      if r["group"] == "in_domain" and r.get("target_pitch", {}).get("clear"))
        data = SpectrogramDataset("data/test_p2.h5")
        found = [(f"row{i}", i, Target.from_audio(render(data[i][1][None])[0])) for i in rows]
    else:
        with tempfile.TemporaryDirectory() as folder:
            for t in external_targets(Path(folder), 20):
                if t.source in ("sox", "fluidsynth"):
                    seed = OOD_INDEX + 10_000 * OUT_OF_DOMAIN.index(t.source) + t.number
                    found.append((f"{t.source}:{t.name}", seed, t.target))
    return found


def compare(out: Path, which: str, old_check) -> None:
    model = checkpoint.load(DEFAULT_MODEL, "cpu")[0].eval()
    index = RetrievalIndex.load(DEFAULT_INDEX)
    with out.open("a") as handle:
        for name, seed, target in targets(which):
            estimate = estimate_pitch(target.audio[None])
            if not bool(estimate.clear[0]):
                continue
            config = SamplingConfig(seed=seed)
            with torch.no_grad():
                params, scores, point = scored_pool(model, target, config, "fast", None, index)
            starts, _ = select_diverse(params, scores.match, 16, config.min_distance)
            start_params, start_scores = params[starts], scores.select(starts)
            refined, _ = refine_gradient(start_params, target, 10, 0.01, render_path="fast")
            pool = torch.cat([refined, start_params])
            pool_scores = Scores.cat([score(refined, target, render_path="fast"), start_scores])
            pool, pool_scores = expand_by_symmetry(pool, pool_scores, target, config, "fast")
            started = time.perf_counter()
            chosen, diverse = select_spread(pool, pool_scores.match, pool_scores.mss, 10, config.within,
                                            config.min_distance)
            rows = torch.tensor(chosen)
            old = old_check(Candidates(pool[rows], pool_scores.select(rows), rows, diverse, point), target,
                            config.keep_tolerance, config.within, "fast")
            between = time.perf_counter()
            new = choose(pool, pool_scores, point, config, target, "fast")
            seconds = {"old": between - started, "new": time.perf_counter() - between}
            firsts = torch.stack([old.audio[0], new.audio[0]])
            crepe = estimate_pitch(firsts).f0_hz
            pyin = pyin_pitch(torch.stack([target.audio, *firsts]))
            record = {"name": name, "target_hz": float(estimate.f0_hz[0]), "pyin_target_hz": float(pyin[0])}
            for k, (label, found) in enumerate((("old", old), ("new", new))):
                record[label] = {
                    "best_mss": float(found.mss.min()), "first_mss": float(found.mss[0]),
                    "within": float((found.mss <= 1.5 * found.mss.min()).float().mean()),
                    "diversity": float(torch.pdist(found.params, p=1).mean() / 100),
                    "crepe_ok": bool(pitch_agreement(crepe[k:k + 1], estimate.f0_hz[:1])["match"][0]),
                    "pyin_ok": bool(pitch_agreement(pyin[1 + k:2 + k], pyin[:1])["match"][0]),
                    "moved": int((found.pool_index == -1).sum()), "s": seconds[label]}
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            print(name, record["old"], record["new"], flush=True)


def summary(out: Path) -> None:
    records = [json.loads(line) for line in out.open()]
    for group in ("row", "sox", "fluidsynth"):
        chosen = [r for r in records if r["name"].startswith(group)]
        if not chosen:
            continue
        print(f"{group}: {len(chosen)} clear-pitch targets")
        for label in ("old", "new"):
            rows = [r[label] for r in chosen]
            print(f"  {label}: best-of-10 MSS {sum(r['best_mss'] for r in rows) / len(rows):.4f}, first candidate "
                  f"on pitch by CREPE {sum(r['crepe_ok'] for r in rows)}, by pYIN {sum(r['pyin_ok'] for r in rows)}, "
                  f"diversity {sum(r['diversity'] for r in rows) / len(rows):.3f}, check "
                  f"{sum(r['s'] for r in rows) / len(rows):.2f} s")
        better = sum(r["new"]["best_mss"] < r["old"]["best_mss"] - 1e-6 for r in chosen)
        worse = sum(r["new"]["best_mss"] > r["old"]["best_mss"] + 1e-6 for r in chosen)
        print(f"  best-of-10 MSS: new better on {better}, worse on {worse}")


if __name__ == "__main__":
    out_path, mode = Path(sys.argv[1]), sys.argv[2]
    if mode == "summary":
        summary(out_path)
    else:
        torch.set_num_threads(2)
        spec = importlib.util.spec_from_file_location("old_pitch_check", "/tmp/old_pitch_check.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["old_pitch_check"] = module
        spec.loader.exec_module(module)
        compare(out_path, mode, module.check_pitch)
