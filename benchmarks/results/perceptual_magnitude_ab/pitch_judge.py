"""Rows given as arguments (run from the repository root): for each clear-pitch target row of val6, predict's default (as the benchmark's hybrid_refined,
seed = row) and CREPE's judgement: best-by-match within 50 cents, and how many of the 10 are."""
import sys, json, torch, h5py
from inverse import checkpoint
from inverse.flow import load_flow
from inverse.retrieval import RetrievalIndex
from inverse.sampling import SamplingConfig, scored_pool
from inverse.refine import RefineConfig, refine_candidates
from inverse.target import Target
from synth.voice import render
from synth.pitch import estimate_pitch, pitch_agreement
model, _ = checkpoint.load("inverse/pretrained/default")
flow = load_flow("inverse/pretrained/flow", checkpoint.paths("inverse/pretrained/default")[0])[0]
index = RetrievalIndex.load("inverse/pretrained/index")
with h5py.File("data/val6_p2.h5") as f:
    params = torch.from_numpy(f["params"][:]).float()
for row in map(int, sys.argv[1:]):
    target = Target.from_audio(render(params[row][None])[0])
    est = estimate_pitch(target.audio[None])
    if not bool(est.clear[0]):
        continue
    config = SamplingConfig(seed=row)
    pool = scored_pool(model, target, config, "fast", flow, index)
    c = refine_candidates(*pool, target, RefineConfig(method="gradient", seed=row), config, "fast")
    f0 = estimate_pitch(c.audio).f0_hz
    agree = pitch_agreement(f0, torch.full_like(f0, float(est.f0_hz[0])))["match"]
    best = int(torch.argmin(c.match))
    print(json.dumps({"row": row, "first": bool(agree[best]), "all": int(agree.sum()), "best_mss": float(c.mss.min())}), flush=True)
