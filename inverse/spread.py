"""Each returned candidate written in the form of its sound that is farthest, in parameters, from the others.

The ten candidates :func:`inverse.sampling.choose` returns are ten sounds, and the synth can write each of them
many ways (:func:`synth.symmetry.forms`: other oscillator-slot orders, octave offsets as semitones, the note
moved an octave against the oscillators), with every parameter that cannot be heard in that setting
(:func:`synth.symmetry.unheard`) free to take any value. Issue 13 asks for *random* parameter sets that give
a similar sound, and its diversity measure is the mean pairwise distance of the returned parameters, so the
form in which a sound is handed over matters: two candidates that both leave a silent oscillator's controls
where the network put them look alike there, though nobody can hear them.

:func:`farthest_forms` picks, candidate by candidate (two passes), the form and the draw of its inaudible parameters
(``draws`` random draws per form) with the largest mean distance to the other candidates as they stand.
:func:`spread_out` renders the candidates that changed and keeps a new form only where it sounds the same as the one
chosen (match and MSS distances to the target each at most ``SAME`` above the original's, the ten's best MSS never
higher, every one within 1.5x of the ten's best MSS and 1.75x of their best match distance, and a candidate on the
target's pitch still on it by the pitch check's tracker), and keeps the originals when the kept forms would not raise
the set's diversity. On the held-out set a first version without the pitch rule and the best-MSS rule turned one first
candidate's reading an octave up (a slot swap of a weak match) and raised best-of-10 MSS by 0.1 %. The candidates'
sounds and pitch groups stay as they were (a form may move a candidate by up to ``SAME`` in match order, so they are
sorted again); only how they are written changes. So the parameters free to be drawn here are all those known not to
change the sound (:func:`~synth.symmetry.unheard`), where the fill, which picks which sound replaces a miss, draws
:func:`~synth.symmetry.inaudible`'s as the pool's variants do (what it draws decides between sounds there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import torch

from inverse.metrics import closest_pair, diversity
from inverse.pitch_check import candidate_pitch
from inverse.target import Target, score
from synth.pitch import pitch_agreement
from synth.symmetry import forms, inaudible, unheard

if TYPE_CHECKING:
    from inverse.sampling import Candidates, SamplingConfig

# A new form sounds the same when its match and MSS distances to the target each grow by at most this: the forms
# that move only the note or inaudible parameters change them by < 1e-4, slot swaps by up to ~0.01 either way
# (each slot has its own analog-drift table); a typical best match distance is ~0.3.
SAME = 5e-3


def drawn_forms(patch: torch.Tensor, generator: torch.Generator, draws: int,
                hidden_by: Callable[[torch.Tensor], list[int]] = inaudible) -> torch.Tensor:
    """Every form of ``patch`` ``Tensor[100]`` (:func:`synth.symmetry.forms`, ``patch`` itself first), each as it
    is and with the parameters ``hidden_by(form)`` lists drawn uniformly ``draws`` times: ``Tensor[M, 100]``."""
    rows = []
    for form in forms(patch):
        rows.append(form[None])
        hidden = hidden_by(form)
        if hidden and draws:
            redrawn = form.repeat(draws, 1)
            redrawn[:, hidden] = torch.rand(draws, len(hidden), generator=generator)
            rows.append(redrawn)
    return torch.cat(rows)


def farthest_forms(params: torch.Tensor, generator: torch.Generator, draws: int, passes: int = 2) -> torch.Tensor:
    """``params`` ``Tensor[K, 100]`` with each row replaced, in turn and ``passes`` times over, by the one of its
    :func:`drawn_forms` (every :func:`~synth.symmetry.unheard` parameter drawn) with the largest mean |difference|
    (normalised parameters) to the other rows as they stand then: ``Tensor[K, 100]``. Deterministic for a given
    ``generator`` state."""
    options = [drawn_forms(row, generator, draws, unheard) for row in params]
    current = params.clone()
    for _ in range(passes):
        for k, rows in enumerate(options):
            others = torch.cat([current[:k], current[k + 1:]])
            if not others.numel():
                break
            gain = (rows[:, None] - others[None]).abs().mean(dim=2).mean(dim=1)
            current[k] = rows[int(torch.argmax(gain))]  # the first of equals: the form as it is
    return current


def spread_out(candidates: Candidates, target: Target, config: SamplingConfig, render_path: str = "auto"
               ) -> Candidates:
    """``candidates`` with each written in its :func:`farthest_forms` form (``config.spread`` draws, generator
    seeded with ``config.seed``) where that renders as the same sound: its match and MSS distances to ``target``
    each at most the original's + :data:`SAME` (the candidates' lowest MSS never rises), its MSS within
    ``config.within`` x the candidates' lowest and its match distance within ``config.match_within`` x theirs
    (where forms that lowered the lowest would leave others outside that bound, those forms are not kept), and,
    where the pitch check ran, a candidate on the target's pitch still on it (tracked as the check tracks; the
    findings follow the kept forms), and no form that would bring two candidates closer than
    ``config.min_distance`` and than the closest two were (:func:`kept_apart`; so the ``diverse`` flag stays true).
    The new forms' renders and scores replace the old, and the candidates are put in match order again (within
    the pitch check's groups: those on the target's pitch first). Unchanged when ``config.spread`` is 0, with
    fewer than two candidates, or when the kept forms do not raise :func:`~inverse.metrics.diversity`."""
    if config.spread == 0 or candidates.params.shape[0] < 2:
        return candidates
    params = farthest_forms(candidates.params, torch.Generator().manual_seed(config.seed), config.spread)
    changed = (params != candidates.params).any(dim=1).nonzero()[:, 0]
    if not changed.numel():
        return candidates
    judged = score(params[changed], target, render_path=render_path)
    old = candidates.scores.select(changed)
    lowest = candidates.mss.min()
    same = ((judged.match <= old.match + SAME) & (judged.mss <= old.mss + SAME)
            & (judged.mss <= config.within * lowest))
    if config.match_within:
        same &= judged.match <= config.match_within * candidates.match.min()
    same &= ~((changed == torch.argmin(candidates.mss)) & (judged.mss > lowest))  # the best MSS never rises
    pitch, hz = candidates.pitch, None
    if pitch is not None and pitch.checked and bool(same.any()):  # on the target's pitch stays on it
        hz = torch.full((len(changed),), float("nan"))
        hz[same] = candidate_pitch(judged.audio[same])
        agrees = pitch_agreement(hz, torch.full_like(hz, pitch.target_hz))["match"]
        same &= agrees | ~pitch.agrees[changed]
    # a form that lowered the best MSS or match and left others outside the bound, or that came too near another:
    # not kept (until neither rule takes back another: taking back a form may matter to the other rule)
    closest = min(config.min_distance, closest_pair(candidates.params))
    while True:
        before = same
        same = kept_inside(candidates.mss, changed, judged.mss, same, config.within)
        if config.match_within:
            same = kept_inside(candidates.match, changed, judged.match, same, config.match_within)
        same = kept_apart(candidates.params, params, changed, same, closest)
        if torch.equal(same, before):
            break
    rows = changed[same]
    new_params = candidates.params.clone()
    new_params[rows] = params[rows]
    if not rows.numel() or diversity(new_params) <= diversity(candidates.params):
        return candidates
    if hz is not None:  # the pitch check's findings follow the kept forms
        pitch = replace(pitch, candidate_hz=pitch.candidate_hz.clone(), agrees=pitch.agrees.clone())
        pitch.candidate_hz[rows], pitch.agrees[rows] = hz[same], agrees[same]
    return replace(candidates, params=new_params, scores=candidates.scores.replaced(rows, judged.select(
        same.nonzero()[:, 0])), pitch=pitch).in_pitch_order()


def kept_apart(old: torch.Tensor, proposed: torch.Tensor, rows: torch.Tensor, keep: torch.Tensor, closest: float
               ) -> torch.Tensor:
    """``keep`` (``Tensor[M]`` bool: which rows ``rows`` ``Tensor[M]`` of ``old`` ``Tensor[K, 100]`` take their
    ``proposed`` ``Tensor[K, 100]`` form) less the forms that would bring two candidates closer than ``closest`` (mean
    |difference| of normalised parameters): while two are, the later of the pair that takes a form keeps its old
    one. (Rows that keep theirs are as far apart as before, so each such pair holds a form.)"""
    keep = keep.clone()
    while bool(keep.any()):
        current = old.clone()
        current[rows[keep]] = proposed[rows[keep]]
        gaps = (current[:, None] - current[None]).abs().mean(dim=2).fill_diagonal_(float("inf"))
        if float(gaps.min()) >= closest:
            break
        i, j = divmod(int(gaps.argmin()), current.shape[0])
        moved = [(rows == k) & keep for k in (max(i, j), min(i, j))]
        hit = next((m for m in moved if bool(m.any())), None)
        if hit is None:  # not reached (see above); nothing left to take back
            return torch.zeros_like(keep)
        keep &= ~hit
    return keep


def _outside(distances: torch.Tensor, within: float) -> bool:
    """Whether any of ``distances`` ``Tensor[K]`` (MSS or match) is above ``within`` x the lowest."""
    return bool((distances > within * distances.min()).any())


def kept_inside(old: torch.Tensor, rows: torch.Tensor, new: torch.Tensor, keep: torch.Tensor, within: float
                ) -> torch.Tensor:
    """``keep`` (``Tensor[M]`` bool: which of ``M`` new distances ``new`` ``Tensor[M]`` replace ``old[rows]``; ``old``
    ``Tensor[K]``, MSS or match) less the replacements below ``old``'s lowest where the kept ones would leave one of
    the ``K`` above ``within`` x the new lowest and none was above it before."""
    changed = old.clone()
    changed[rows[keep]] = new[keep]
    if _outside(changed, within) and not _outside(old, within):
        return keep & (new >= old.min())
    return keep
