"""Retuning: a candidate's oscillator intervals, searched one discrete change at a time.

Gradient refinement moves only the continuous parameters. Each oscillator's octave and semitone offsets are
discrete (the synth floors them), so a candidate whose second oscillator sits a fourth above the first where the
target's sits a fifth keeps that interval through refinement, and so does a candidate with one oscillator an
octave off. Retuning renders every single change of one heard oscillator's offset (a new octave, -2 .. +2, or a
new semitone offset, -12 .. +12; changes that give a total offset already tried are rendered once), scores them
against the target and keeps the best where it lowers the match distance. With three heard oscillators that is
at most 3 x 28 = 84 renders per candidate. :func:`inverse.refine.refine_candidates` retunes the best refined
candidates and adds what it finds to the pool.

Measured before it was built (8 validation targets, the best three returned candidates of each, up to two
rounds): the best-of-10 MSS fell 3 % on average (0 .. 13 %), mostly by a semitone change of the second or third
oscillator; other discrete parameters (filter type, LFO shapes, ...) changed little.
"""

from __future__ import annotations

import torch

from inverse.target import Scores, Target, score
from synth.params import PARAM_INDEX, PARAM_SPECS
from synth.symmetry import SLOT_NAMES, inaudible

_OCTAVES = PARAM_SPECS[PARAM_INDEX["osc1_octave"]].choices  # 5: -2 .. +2
_SEMITONES = PARAM_SPECS[PARAM_INDEX["osc1_semitone"]].choices  # 25: -12 .. +12


def interval_changes(patch: torch.Tensor) -> torch.Tensor:
    """Every single change of one heard oscillator's octave or semitone offset of ``patch`` ``Tensor[100]``
    (normalised), one per new total offset of that oscillator: ``Tensor[V, 100]`` (``V`` <= 84; 0 rows when no
    oscillator is heard)."""
    hidden = set(inaudible(patch))
    variants = []
    for slot in SLOT_NAMES:
        octave_i, semitone_i = PARAM_INDEX[f"{slot}_octave"], PARAM_INDEX[f"{slot}_semitone"]
        if octave_i in hidden:
            continue
        octave = min(_OCTAVES - 1, int(float(patch[octave_i]) * _OCTAVES))
        semitone = min(_SEMITONES - 1, int(float(patch[semitone_i]) * _SEMITONES))
        seen = {12 * octave + semitone}
        changes = [(o, semitone) for o in range(_OCTAVES)] + [(octave, s) for s in range(_SEMITONES)]
        for new_octave, new_semitone in changes:
            total = 12 * new_octave + new_semitone
            if total in seen:
                continue
            seen.add(total)
            variant = patch.clone()
            variant[octave_i] = (new_octave + 0.5) / _OCTAVES
            variant[semitone_i] = (new_semitone + 0.5) / _SEMITONES
            variants.append(variant)
    return torch.stack(variants) if variants else patch[:0].clone()


def retune(params: torch.Tensor, match: torch.Tensor, target: Target, render_path: str = "auto"
           ) -> tuple[torch.Tensor, Scores]:
    """For each row of ``params`` ``Tensor[K, 100]`` (normalised; ``match`` ``Tensor[K]`` its match distances), the
    best of its :func:`interval_changes` where that has a lower match distance to ``target``.

    Renders on ``render_path`` (:func:`synth.render`). Returns those retuned rows ``Tensor[R, 100]`` (R <= K, in the
    order of their sources) and their :class:`~inverse.target.Scores`."""
    found, judged = [], []
    for k in range(params.shape[0]):
        variants = interval_changes(params[k])
        if variants.shape[0] == 0:
            continue
        scores = score(variants, target, render_path=render_path)
        best = int(torch.argmin(scores.match))
        if float(scores.match[best]) < float(match[k]):
            found.append(variants[best])
            judged.append(scores.select([best]))
    if not found:
        return params[:0].clone(), score(params[:0], target)
    return torch.stack(found), Scores.cat(judged)
