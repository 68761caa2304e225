"""Candidates still off a clear target pitch replaced by other forms of the candidates on it.

The pitch check (:mod:`inverse.pitch_check`) moves candidates off the target's pitch onto it and excludes those it
cannot move, in up to ten rounds; where few candidates within the MSS bound have the target's pitch, or most have no
pitch the tracker can read (noisy, inharmonic patches), the rounds run out and some of the ten stay off it (on the
first 40 held-out in-domain targets, 29 of the 160 returned on the 16 clearly pitched ones were off it, 8 of 10 on
one of them; ``benchmarks/results/predict_pitchfill_forms/``: 11 with this step). Issue 13 asks for parameter sets
that each sound like the target, and, from every good candidate, the sets that must sound the same. So each
candidate still off the pitch (except the ten's best by match and by MSS, which always stay) is replaced by another
form of a candidate on it (:func:`inverse.spread.drawn_forms`: another slot order, the note moved against the
oscillators' octave offsets, an octave written as semitones, inaudible parameters drawn anew), the form farthest in
parameters from its nearest other candidate, if that is at least ``min_distance`` (so the ten stay as far apart as
the choice requires; else the next source's); the sources are the candidates on the pitch in match order, in turn. A
form is kept where it still matches, as the symmetry expansion keeps variants
(:func:`inverse.sampling.expand_by_symmetry`: match distance at most its source's + ``keep_tolerance``; a slot swap
changes it by ~0.02, each slot having its own analog-drift table), its MSS is within ``within`` x the ten's best,
and the tracker reads the target's pitch on it; where forms below the ten's best MSS would leave another candidate
outside ``within`` x the new best, those forms are not kept (as the spread does). Targets without a clear pitch,
and ten already on it, are left as they are.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from inverse.pitch_check import candidate_pitch
from inverse.spread import drawn_forms, outside_bound
from inverse.target import Target, score
from synth.pitch import pitch_agreement

if TYPE_CHECKING:
    from inverse.sampling import Candidates, SamplingConfig


def fill_off_pitch(candidates: Candidates, target: Target, config: SamplingConfig, render_path: str = "auto"
                   ) -> Candidates:
    """``candidates`` (with the pitch check's findings) with those off a clear target pitch replaced by other forms
    of those on it where they still match and keep the pitch (see the module docstring); forms drawn with a
    generator seeded by ``config.seed`` (``config.spread`` draws of inaudible parameters per form, at least 1),
    rendered on ``render_path``. A replaced candidate's ``pool_index`` is -1; those on the pitch come first,
    each group in match order. Unchanged without ``config.pitch_fill``, a checked pitch, or candidates both on
    and off it."""
    pitch = candidates.pitch
    if not config.pitch_fill or pitch is None or not pitch.checked:
        return candidates
    replaceable = ~pitch.agrees
    replaceable[torch.argmin(candidates.match)] = replaceable[torch.argmin(candidates.mss)] = False
    off, on = replaceable.nonzero()[:, 0], pitch.agrees.nonzero()[:, 0]
    if not off.numel() or not on.numel():
        return candidates
    on = on[torch.argsort(candidates.match[on], stable=True)]
    generator = torch.Generator().manual_seed(config.seed)
    options = [drawn_forms(candidates.params[source], generator, max(config.spread, 1)) for source in on.tolist()]
    params = candidates.params.clone()
    rows, sources, proposals = [], [], []
    for j, k in enumerate(off.tolist()):
        # the others as they stand, and the ones replaced so far as they were (a form may be refused below)
        others = torch.cat([params[:k], params[k + 1:], candidates.params[rows]])
        for t in range(on.numel()):  # the sources in turn from this one, until one has a form far enough away
            source = (j + t) % on.numel()
            nearest = (options[source][:, None] - others[None]).abs().mean(dim=2).min(dim=1).values
            best = int(torch.argmax(nearest))
            if float(nearest[best]) >= config.min_distance:
                params[k] = options[source][best]  # the later picks see it
                rows.append(k)
                sources.append(int(on[source]))
                proposals.append(params[k])
                break
    if not rows:
        return candidates
    index, source_scores = torch.tensor(rows), candidates.scores.select(torch.tensor(sources))
    bound = config.within * candidates.mss.min()
    judged = score(torch.stack(proposals), target, render_path=render_path)
    keep = (judged.match <= source_scores.match + config.keep_tolerance) & (judged.mss <= bound)
    hz = torch.full((len(rows),), float("nan"))
    if bool(keep.any()):
        hz[keep] = candidate_pitch(judged.audio[keep])
    keep &= pitch_agreement(hz, torch.full_like(hz, pitch.target_hz))["match"]
    mss = candidates.mss.clone()
    mss[index[keep]] = judged.mss[keep]
    if outside_bound(mss, config.within) and not outside_bound(candidates.mss, config.within):
        keep &= judged.mss >= candidates.mss.min()  # a form that lowered the best left others outside: not kept
    if not bool(keep.any()):
        return candidates
    index, kept = index[keep], keep.nonzero()[:, 0]
    new_params = candidates.params.clone()
    new_params[index] = params[index]
    found = replace(pitch, candidate_hz=pitch.candidate_hz.clone(), agrees=pitch.agrees.clone())
    found.candidate_hz[index], found.agrees[index] = hz[kept], True
    pool_index = candidates.pool_index.clone()
    pool_index[index] = -1
    return replace(candidates, params=new_params, scores=candidates.scores.replaced(index, judged.select(kept)),
                   pool_index=pool_index, pitch=found).in_pitch_order()
