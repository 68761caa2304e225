"""Quick A/B on val6's 17 clear-pitch targets: all-K on pitch (CREPE hop 320), first on pitch, best MSS, diversity."""
import json, sys, time, torch, h5py
from inverse.predict import Predictor
from inverse.target import Target
from inverse.metrics import diversity
from synth import render
from synth.pitch import estimate_pitch, pitch_agreement
rows = [1, 2, 4, 6, 10, 15, 20, 24, 26, 27, 31, 33, 35, 38, 41, 45, 55]
p = Predictor.from_checkpoint()
with h5py.File("data/val6_p2.h5") as f:
    P = torch.from_numpy(f["params"][:]).float()
out = []
for i in rows:
    t = Target.from_audio(render(P[i:i+1])[0])
    t0 = time.perf_counter(); c = p.predict(t, samples=10).candidates; dt = time.perf_counter() - t0
    hz = estimate_pitch(c.audio).f0_hz
    thz = float(estimate_pitch(t.audio[None]).f0_hz[0])
    ag = pitch_agreement(hz, torch.full_like(hz, thz))["match"]
    out.append({"row": i, "all": int(ag.sum()), "first": bool(ag[0]), "best_mss": float(c.mss.min()),
                "div": diversity(c.params), "t": dt})
    print(json.dumps(out[-1]), flush=True)
n = len(out)
print("SUMMARY all-K %d/%d first %d/%d best_mss %.4f div %.4f t %.2f" % (sum(o["all"] for o in out), 10 * n,
      sum(o["first"] for o in out), n, sum(o["best_mss"] for o in out) / n, sum(o["div"] for o in out) / n,
      sum(o["t"] for o in out) / n))
