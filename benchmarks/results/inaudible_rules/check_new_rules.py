"""The rules added on 6 December, checked on 300 prior patches: redraw what they list, render, compare.

    PYTHONPATH=. python benchmarks/results/inaudible_rules/check_new_rules.py
"""

import torch

from synth import prior
from synth.params import PARAM_INDEX
from synth.symmetry import inaudible
from synth.voice import render

NEW = ("lfo1_pwm", "lfo1_rate", "lfo1_shape", "lfo1_phase", "lfo1_fade", "amp_env_decay", "amp_env_sustain",
       "filter_env_decay", "filter_env_sustain")
patches = torch.cat([prior.draw(21, 0, 150, "uniform", "2"), prior.draw(21, 0, 150, "uniform", "1")])
generator = torch.Generator().manual_seed(0)
rows, which = [], []
for n, patch in enumerate(patches):
    hidden = set(inaudible(patch))
    index = [PARAM_INDEX[name] for name in NEW if PARAM_INDEX[name] in hidden]
    if index:
        row = patch.clone()
        row[index] = torch.rand(len(index), generator=generator)
        rows.append(row)
        which.append(n)
rows = torch.stack(rows)
for path in ("eager", "fast"):
    with torch.no_grad():
        change = (render(rows, path=path) - render(patches[which], path=path)).abs().amax(dim=1)
    print(f"{path}: {len(which)} patches with one of the rules acting; largest change of a sample "
          f"{float(change.max()):.2g}, on {int((change > 0).sum())} patch(es)")
