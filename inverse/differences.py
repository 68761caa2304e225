"""How a returned candidate differs from the best one, in what can be heard.

The returned candidates are written in mutually distant forms (:mod:`inverse.spread`): their oscillator slots in
other orders, their inaudible parameters drawn at random. A list of their largest parameter changes would then
name slot swaps and settings nobody hears. So a candidate is compared with its slots in the order closest to the
best one's (of the orders that keep its sound), and parameters that neither of the two lets you hear
(:func:`synth.symmetry.unheard`) are skipped. Where a candidate is another candidate's sound in another form
(the fill returns such sets: :mod:`inverse.fill`), :func:`form_sources` says so, so that nobody takes
two of the ten for two sounds.
"""

from __future__ import annotations

import torch

from synth.symmetry import is_form_of, kept_orders, permute_slots, unheard


def aligned(row: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
    """``row`` ``Tensor[100]`` with its oscillator slots in the order (of those that keep its sound: all six
    without ring modulation, else the 1-2 swap) closest to ``best``'s in mean |difference|."""
    forms = torch.stack([permute_slots(row, order) for order in kept_orders(row)])
    return forms[int((forms - best).abs().mean(dim=1).argmin())]


def heard_changes(params: torch.Tensor, rank: int) -> tuple[torch.Tensor, list[int]]:
    """Candidate ``rank`` of ``params`` ``Tensor[K, 100]`` aligned to the best (row 0; :func:`aligned`), and the
    indices of the parameters it changes, largest normalised change first, without those neither can hear."""
    row = aligned(params[rank], params[0])
    silent = set(unheard(params[0])) & set(unheard(row))
    delta = (row - params[0]).abs()
    return row, [i for i in torch.argsort(delta, descending=True, stable=True).tolist()
                 if i not in silent and float(delta[i]) > 0]


def form_sources(params: torch.Tensor) -> list[int | None]:
    """For each row of ``params`` ``Tensor[K, 100]`` (best first), the first earlier row whose sound it writes in
    another form (:func:`synth.symmetry.is_form_of`), or None when it is a sound of its own."""
    sources: list[int | None] = [None] * params.shape[0]
    for j in range(params.shape[0] - 1):
        found = is_form_of(params[j + 1:], params[j])
        for k in found.nonzero()[:, 0].tolist():
            if sources[j + 1 + k] is None:
                sources[j + 1 + k] = j
    return sources
