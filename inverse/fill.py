"""Returned candidates that miss the target, off its clear pitch or far from it by the match distance, replaced by
other forms of those that do not.

The pitch check (:mod:`inverse.pitch_check`) moves candidates off the target's pitch onto it and excludes those it
cannot move, in up to ten rounds; where few candidates within the MSS bound have the target's pitch, or most have no
pitch the tracker can read (noisy, inharmonic patches), the rounds run out and some of the ten stay off it (on the
first 40 held-out in-domain targets, 29 of the 160 returned on the 16 clearly pitched ones were off it, 8 of 10 on
one of them; ``benchmarks/results/predict_pitchfill_forms/``: 11 with this step). And the choice admits any
candidate whose MSS is within ``within`` x the best one's, which admits sounds that only follow the target's
loudness: for a flute note, a noise burst at 1.46x the best MSS and 1.94x the best match distance (MSS + spectral
shape, which sees the partials). Issue 13 asks for parameter sets that each sound like the target, and, from every
good candidate, the sets that must sound the same. So each *miss*, a candidate off a clear pitch (with
``config.pitch_fill``) or with a match distance above ``config.match_within`` x the ten's best (with
``match_within``; 0: none), except the ten's best by match and by MSS, which always stay, is replaced by another form
of a candidate that is no miss (:func:`inverse.spread.drawn_forms`: another slot order, the note moved against the
oscillators' octave offsets, an octave written as semitones, inaudible parameters drawn anew), the form farthest in
parameters from its nearest other candidate, if that is at least ``min_distance`` (so the ten stay as far apart as
the choice requires; else the next source's); the sources are the candidates that are no miss in match order, in
turn. A form is kept where it still matches, as the symmetry expansion keeps variants
(:func:`inverse.sampling.expand_by_symmetry`: match distance at most its source's + ``keep_tolerance``; a slot swap
changes it by ~0.02, each slot having its own analog-drift table), its MSS is within ``within`` x the ten's best,
its match distance within ``match_within`` x theirs, and, on a clearly pitched target, the tracker reads the
target's pitch on it; where forms below the ten's best MSS or match would leave another candidate outside the bound
of the new best, those forms are not kept (as the spread does).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from inverse.pitch_check import candidate_pitch
from inverse.spread import drawn_forms, kept_inside
from inverse.target import Target, score
from synth.pitch import pitch_agreement

if TYPE_CHECKING:
    from inverse.sampling import Candidates, SamplingConfig


def fill_misses(candidates: Candidates, target: Target, config: SamplingConfig, render_path: str = "auto"
                ) -> Candidates:
    """``candidates`` (with the pitch check's findings, or none) with the misses replaced by other forms of those that
    are no miss where the forms still match (and keep a clear pitch; see the module docstring); forms drawn with a
    generator seeded by ``config.seed`` (``config.spread`` draws of inaudible parameters per form, at least 1),
    rendered on ``render_path``. A replaced candidate's ``pool_index`` is -1; where the pitch was checked, those on
    it come first, each group in match order. Unchanged where nothing is a miss or nothing is not."""
    pitch = candidates.pitch
    pitched = config.pitch_fill and pitch is not None and pitch.checked
    misses = ~pitch.agrees if pitched else torch.zeros_like(candidates.match, dtype=torch.bool)
    if config.match_within:
        misses = misses | (candidates.match > config.match_within * candidates.match.min())
    hits = ~misses
    misses[torch.argmin(candidates.match)] = misses[torch.argmin(candidates.mss)] = False
    off, on = misses.nonzero()[:, 0], hits.nonzero()[:, 0]
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
    judged = score(torch.stack(proposals), target, render_path=render_path)
    keep = ((judged.match <= source_scores.match + config.keep_tolerance)
            & (judged.mss <= config.within * candidates.mss.min()))
    if config.match_within:
        keep &= judged.match <= config.match_within * candidates.match.min()
    if pitched:  # a clear pitch stays: the tracker reads it on the form
        hz = torch.full((len(rows),), float("nan"))
        if bool(keep.any()):
            hz[keep] = candidate_pitch(judged.audio[keep])
        keep &= pitch_agreement(hz, torch.full_like(hz, pitch.target_hz))["match"]
    # a form that lowered the best MSS or match and left others outside the bound: not kept
    keep = kept_inside(candidates.mss, index, judged.mss, keep, config.within)
    if config.match_within:
        keep = kept_inside(candidates.match, index, judged.match, keep, config.match_within)
    if not bool(keep.any()):
        return candidates
    index, kept = index[keep], keep.nonzero()[:, 0]
    new_params = candidates.params.clone()
    new_params[index] = params[index]
    if pitched:
        pitch = replace(pitch, candidate_hz=pitch.candidate_hz.clone(), agrees=pitch.agrees.clone())
        pitch.candidate_hz[index], pitch.agrees[index] = hz[kept], True
    pool_index = candidates.pool_index.clone()
    pool_index[index] = -1
    return replace(candidates, params=new_params, scores=candidates.scores.replaced(index, judged.select(kept)),
                   pool_index=pool_index, pitch=pitch).in_pitch_order()
