"""For each val6 row given as an argument that has a clear pitch (run from the repository root): `predict`'s default
as the benchmark's ``hybrid_refined`` runs it (seed = row) and CREPE's judgement of the ten returned, one JSON line:
``first`` (the best by match distance within 50 cents of the target's pitch), ``all`` (how many of the ten are)."""

import json
import sys

import h5py
import torch

from inverse.predict import Predictor
from inverse.refine import RefineConfig, refine_candidates
from inverse.sampling import SamplingConfig, scored_pool
from inverse.target import Target
from synth.pitch import estimate_pitch, pitch_agreement
from synth.voice import render

shipped = Predictor.from_checkpoint()  # the shipped model, its flow and the shipped index
model, flow, index = shipped.model, shipped.flow, shipped.index
with h5py.File("data/val6_p2.h5") as f:
    params = torch.from_numpy(f["params"][:]).float()
for row in map(int, sys.argv[1:]):
    target = Target.from_audio(render(params[row][None])[0])
    estimate = estimate_pitch(target.audio[None])
    if not bool(estimate.clear[0]):
        continue
    config = SamplingConfig(seed=row)
    pool = scored_pool(model, target, config, "fast", flow, index)
    chosen = refine_candidates(*pool, target, RefineConfig(method="gradient", seed=row), config, "fast")
    f0 = estimate_pitch(chosen.audio).f0_hz
    agree = pitch_agreement(f0, torch.full_like(f0, float(estimate.f0_hz[0])))["match"]
    best = int(torch.argmin(chosen.match))
    print(json.dumps({"row": row, "first": bool(agree[best]), "all": int(agree.sum()),
                      "best_mss": float(chosen.mss.min())}), flush=True)
