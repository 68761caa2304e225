"""The spread (inverse/spread.py, predict's last step) on the same chosen candidates, three ways:
A the spread of commit 56eb90a (draws inaudible()'s parameters; one form too near another leaves all ten as they were),
B that spread drawing unheard()'s parameters, C the working tree's (unheard() and kept_apart).

    PYTHONPATH=. python benchmarks/results/spread_unheard/spread_ab.py 40 8 > records.jsonl
    PYTHONPATH=. python benchmarks/results/spread_unheard/spread_ab.py --summary records.jsonl

Runs predict (every default) on the first N held-out rows of data/test_p2.h5 (their fast render), the demo target
and the first M sox, fluidsynth and espeak-ng sounds of benchmarks/external_sounds.py, stopping each at the
spread's input (cached in /tmp/spread_inputs.pkl, this script's own file), then spreads those inputs each way.
"""
import importlib.util
import json
import pickle
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import torch

import inverse.sampling as sampling
import inverse.spread as new_spread
from benchmarks.external_sounds import espeak_phrases, fluidsynth_notes, sox_notes
from inverse.metrics import closest_pair, diversity
from inverse.predict import Predictor
from inverse.target import Target
from synth import render
from synth.symmetry import inaudible, unheard

BEFORE = "56eb90a"
CACHE = Path("/tmp/spread_inputs.pkl")


def old_spread():
    """inverse/spread.py as it was at BEFORE, imported as its own module."""
    source = subprocess.run(["git", "show", f"{BEFORE}:inverse/spread.py"], check=True, capture_output=True,
                            text=True).stdout
    path = Path(tempfile.mkdtemp()) / "spread_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("spread_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spread_inputs(n: int, per: int) -> list:
    captured = {}

    def spy(candidates, target, config, render_path="auto"):
        captured["in"] = (candidates, target, config, render_path)
        return candidates

    sampling.spread_out = spy
    pred = Predictor.from_checkpoint()
    with h5py.File("data/test_p2.h5") as f:
        params = torch.from_numpy(f["params"][:n])
    folder = Path(tempfile.mkdtemp())
    targets = [(f"row{i}", Target.from_audio(render(params[i:i + 1], path="fast")[0])) for i in range(n)]
    targets += [("example.png", "inverse/pretrained/example.png")]
    for group, make in (("sox", sox_notes), ("fluidsynth", fluidsynth_notes), ("espeak", espeak_phrases)):
        targets += [(f"{group}:{name}", str(path)) for name, path in make(folder / group, per)]
    inputs = []
    for name, target in targets:
        pred.predict(target, samples=10)
        inputs.append((name, captured["in"]))
        print(name, file=sys.stderr, flush=True)
    return inputs


def arm(spread_out, candidates, target, config, render_path) -> dict:
    out = spread_out(candidates, target, config, render_path)
    return {"diversity": diversity(out.params), "best_mss": float(out.mss.min()),
            "median_mss": float(out.mss.median()), "changed": int((out.params != candidates.params).any(dim=1).sum()),
            "closest": closest_pair(out.params)}


def summary(path: str) -> None:
    records = [json.loads(line) for line in open(path)]

    def group(record):
        name = record["target"]
        return "in_domain" if name.startswith("row") or name == "example.png" else name.split(":")[0]

    def interval(changes):
        random.seed(0)
        means = sorted(statistics.mean(random.choices(changes, k=len(changes))) for _ in range(2000))
        return means[50], means[1949]

    for name in ("in_domain", "sox", "fluidsynth", "espeak", "all"):
        chosen = [r for r in records if name == "all" or group(r) == name]
        for a, b in (("A", "B"), ("A", "C"), ("B", "C")):
            change = [r[b]["diversity"] / r[a]["diversity"] - 1 for r in chosen]
            low, high = interval(change)
            mean_a, mean_b = (statistics.mean(r[x]["diversity"] for r in chosen) for x in (a, b))
            print(f"{name} {a}->{b} ({len(chosen)}): diversity {mean_a:.4f} -> {mean_b:.4f}, "
                  f"{100 * statistics.mean(change):+.2f} %"
                  f" ({100 * low:+.2f} .. {100 * high:+.2f}), higher on {sum(x > 1e-9 for x in change)}, lower on "
                  f"{sum(x < -1e-9 for x in change)}; best MSS moved by at most "
                  f"{max(abs(r[b]['best_mss'] - r[a]['best_mss']) for r in chosen):.1e}")
    for a in "ABC":
        untouched = sum(r[a]["changed"] == 0 for r in records)
        print(f"{a}: spread left all ten as they were on {untouched} of {len(records)}")


def main() -> None:
    if sys.argv[1] == "--summary":
        summary(sys.argv[2])
        return
    if CACHE.exists():
        inputs = pickle.loads(CACHE.read_bytes())
    else:
        inputs = spread_inputs(int(sys.argv[1]), int(sys.argv[2]))
        CACHE.write_bytes(pickle.dumps(inputs))
    before = old_spread()
    for name, (candidates, target, config, render_path) in inputs:
        record = {"target": name, "chosen": diversity(candidates.params)}
        before.inaudible = inaudible
        record["A"] = arm(before.spread_out, candidates, target, config, render_path)
        before.inaudible = unheard
        record["B"] = arm(before.spread_out, candidates, target, config, render_path)
        record["C"] = arm(new_spread.spread_out, candidates, target, config, render_path)
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
