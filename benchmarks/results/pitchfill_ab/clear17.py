"""Quick A/B on val6's 17 clear-pitch targets: all-K on pitch (CREPE hop 320), first on pitch, best MSS, diversity.

Run from the repository root: `python benchmarks/results/pitchfill_ab/clear17.py` (needs data/val6_p2.h5).
"""
import json
import time

import h5py
import torch

from inverse.metrics import diversity
from inverse.predict import Predictor
from inverse.target import Target
from synth import render
from synth.pitch import estimate_pitch, pitch_agreement

rows = [1, 2, 4, 6, 10, 15, 20, 24, 26, 27, 31, 33, 35, 38, 41, 45, 55]
predictor = Predictor.from_checkpoint()
with h5py.File("data/val6_p2.h5") as f:
    params = torch.from_numpy(f["params"][:]).float()
out = []
for i in rows:
    target = Target.from_audio(render(params[i:i + 1])[0])
    t0 = time.perf_counter()
    cands = predictor.predict(target, samples=10).candidates
    seconds = time.perf_counter() - t0
    hz = estimate_pitch(cands.audio).f0_hz
    target_hz = float(estimate_pitch(target.audio[None]).f0_hz[0])
    on_pitch = pitch_agreement(hz, torch.full_like(hz, target_hz))["match"]
    out.append({"row": i, "all": int(on_pitch.sum()), "first": bool(on_pitch[0]),
                "best_mss": float(cands.mss.min()), "div": diversity(cands.params), "t": seconds})
    print(json.dumps(out[-1]), flush=True)
n = len(out)
print(f"SUMMARY all-K {sum(o['all'] for o in out)}/{10 * n} first {sum(o['first'] for o in out)}/{n} "
      f"best_mss {sum(o['best_mss'] for o in out) / n:.4f} div {sum(o['div'] for o in out) / n:.4f} "
      f"t {sum(o['t'] for o in out) / n:.2f}")
