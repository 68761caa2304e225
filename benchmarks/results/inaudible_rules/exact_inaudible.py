"""Parameters whose redraw leaves the audio unchanged though ``synth.symmetry.inaudible`` does not list them.

    PYTHONPATH=. python benchmarks/results/inaudible_rules/exact_inaudible.py

160 patches (80 of prior 2, 80 of prior 1, seed 11); every parameter not listed as inaudible is moved, one at a
time (a discrete one to another choice, a continuous one by 0.2-0.8), and the patch rendered on the fast path.
Printed: each parameter whose move changed no sample by more than 1e-6 of the patch's peak, how often.
"""

import collections

import torch

from synth import prior
from synth.params import DISCRETE_INDICES, PARAM_NAMES
from synth.symmetry import inaudible
from synth.voice import render

COUNT = 160
patches = torch.cat([prior.draw(11, 0, COUNT // 2, "uniform", "2"), prior.draw(11, 0, COUNT // 2, "uniform", "1")])
generator = torch.Generator().manual_seed(1)
with torch.no_grad():
    base = render(patches, path="fast")
unchanged, tried = collections.Counter(), collections.Counter()
for n, patch in enumerate(patches):
    hidden = set(inaudible(patch))
    index = [i for i in range(100) if i not in hidden]
    rows = patch.repeat(len(index), 1)
    current = patch[index]
    discrete = torch.tensor([i in DISCRETE_INDICES for i in index])
    moved = torch.where(discrete, (current + 0.5) % 1.0,
                        (current + 0.2 + 0.6 * torch.rand(len(index), generator=generator)) % 1.0)
    rows[torch.arange(len(index)), index] = moved
    with torch.no_grad():
        audio = render(rows, path="fast")
    change = (audio - base[n]).abs().amax(dim=1) / base[n].abs().amax().clamp_min(1e-9)
    for k, i in enumerate(index):
        tried[PARAM_NAMES[i]] += 1
        unchanged[PARAM_NAMES[i]] += int(float(change[k]) < 1e-6)
for name, count in unchanged.most_common():
    if count:
        print(f"{name:22s} {count:4d} / {tried[name]:4d}")
