"""How the "differs from #1 in" column and the "= #k in another form" labels change with unheard() in place of
inaudible(): predict's default answers on the first N held-out rows and the demo target, both descriptions computed
from the same candidates (the functions below are inverse.differences' with the rule set as an argument).

    PYTHONPATH=. python benchmarks/results/unheard_display/measure_display.py 24 > records.jsonl
    python benchmarks/results/unheard_display/measure_display.py --summary records.jsonl
"""
import json
import sys
import time

import h5py
import torch

from inverse.differences import aligned
from inverse.predict import Predictor
from inverse.target import Target
from synth import render
from synth.params import PARAM_NAMES
from synth.symmetry import forms, inaudible, unheard


def heard(params, rank, rule):
    row = aligned(params[rank], params[0])
    silent = set(rule(params[0])) & set(rule(row))
    delta = (row - params[0]).abs()
    return [i for i in torch.argsort(delta, descending=True, stable=True).tolist()
            if i not in silent and float(delta[i]) > 0]


def form_of(candidates, patch, rule, tol=1e-4):
    written = forms(patch)
    h = torch.ones_like(written, dtype=torch.bool)
    for m, f in enumerate(written):
        h[m, rule(f)] = False
    gaps = (written[:, None] - candidates[None]).abs() * h[:, None]
    return (gaps.amax(dim=2) <= tol).any(dim=0)


def sources(params, rule):
    out = [None] * params.shape[0]
    for j in range(params.shape[0] - 1):
        for k in form_of(params[j + 1:], params[j], rule).nonzero()[:, 0].tolist():
            if out[j + 1 + k] is None:
                out[j + 1 + k] = j
    return out


def summary(path):
    rows = changed = named = forms_new = 0
    names = {}
    records = [json.loads(line) for line in open(path)]
    for record in records:
        for row in record["rows"]:
            rows += 1
            changed += row["old_top3"] != row["new_top3"]
            named += bool(row["dropped"])
            forms_new += row["form_old"] != row["form_new"]
            for name in row["dropped"]:
                names[name] = names.get(name, 0) + 1
    print(f"{len(records)} targets, {rows} candidates after the first: {named} listed a setting nobody hears among "
          f"their changes, {changed} in their top 3; {forms_new} more named as another candidate's form; "
          f"names dropped: {dict(sorted(names.items(), key=lambda kv: -kv[1]))}")


if sys.argv[1] == "--summary":
    summary(sys.argv[2])
    sys.exit()
n = int(sys.argv[1])
predictor = Predictor.from_checkpoint()
with h5py.File("data/test_p2.h5") as f:
    params = torch.from_numpy(f["params"][:n])
targets = [(f"test_p2 row {i}", Target.from_audio(render(params[i:i + 1], path="fast")[0])) for i in range(n)]
targets.append(("example.png", "inverse/pretrained/example.png"))
records = []
for name, target in targets:
    t = time.perf_counter()
    pred = predictor.predict(target, samples=10)
    p = pred.candidates.params
    rec = {"target": name, "seconds": round(time.perf_counter() - t, 1), "rows": []}
    so, sn = sources(p, inaudible), sources(p, unheard)
    for r in range(1, p.shape[0]):
        old, new = heard(p, r, inaudible), heard(p, r, unheard)
        rec["rows"].append({"rank": r + 1, "old_top3": [PARAM_NAMES[i] for i in old[:3]],
                            "new_top3": [PARAM_NAMES[i] for i in new[:3]],
                            "dropped": [PARAM_NAMES[i] for i in old if i not in new],
                            "form_old": so[r], "form_new": sn[r]})
    records.append(rec)
    print(json.dumps(rec), flush=True)
