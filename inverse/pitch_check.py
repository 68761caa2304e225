"""Pitch check: the returned candidates that are off the target's pitch are moved onto it where that does not
make them sound worse, and those with the target's pitch come first.

The ranking distance (:func:`synth.perceptual.match_distance`) compares spectra, not pitch: a candidate one or
two octaves below a note, whose partials include all of the note's and whose extra ones are weak, can rank
first, and a listener (or a pitch tracker) hears the lower note (its sub-octave term, given the target's pitch
from the same tracker, :attr:`inverse.target.Target.pitch`, penalises a layer an octave below); and the choice of
mutually different candidates admits any within 1.5x the best one's MSS, which barely sees a semitone. So when
the target has a clear pitch (:func:`synth.pitch.estimate_pitch`: CREPE tiny, whose weights ship in its wheel),
the returned candidates' pitches are estimated too. A candidate more than :data:`~synth.pitch.CENTS_TOLERANCE`
off gets a copy with its note moved by the difference (:func:`inverse.transpose.transposed`), which replaces it in
the pool when its match distance is at most the original's + ``keep_tolerance`` (an octave-low patch moved up an octave
is often another timbre, and stays as it was). When any copy was kept, the candidates are chosen again from
that pool: a copy closer than all of them leads, and the others are chosen around it within the MSS bound (a
check that only swapped copies in place had to refuse such a copy whenever it left another candidate outside
1.5x its MSS). Then those within the tolerance come first, each group in match order (:class:`PitchCheck`
holds the pitches). Targets without a clear pitch (chords, noise, speech) are left as they are, after one
estimate of the target (~0.5 s); a pitched one costs ~1.5-4 s more for 10 candidates on 2 cores (more when
copies are moved).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

import torch

from inverse.target import Scores, Target, score
from inverse.transpose import transposed
from synth.pitch import CENTS_TOLERANCE, PitchConfig, estimate_pitch, pitch_agreement

if TYPE_CHECKING:
    from inverse.sampling import Candidates

# Candidates are tracked at a 60 ms hop (the target at the tracker's default 20 ms): a third of the frames,
# and on 10 prior-2 patches the same clear / not clear verdicts and the same pitch for the clear ones.
CANDIDATE_CONFIG = PitchConfig(hop=960)


@dataclass(frozen=True)
class PitchCheck:
    """The target's pitch (``target_hz``, NaN when not clear) and, when it is clear, each candidate's
    (``candidate_hz`` ``Tensor[K]``, NaN where the tracker found no periodic loud frame) and whether it agrees
    (``agrees`` ``Tensor[K]`` bool, within 50 cents); both empty when the target has no clear pitch."""

    target_hz: float
    candidate_hz: torch.Tensor
    agrees: torch.Tensor

    @property
    def checked(self) -> bool:
        return not math.isnan(self.target_hz)

    def candidate(self, k: int) -> float | None:
        """Candidate ``k``'s pitch in Hz; None where the target has no clear pitch or the tracker found none."""
        if not self.checked or math.isnan(float(self.candidate_hz[k])):
            return None
        return float(self.candidate_hz[k])


Selection = Callable[[torch.Tensor, Scores], "Candidates"]  # a scored pool -> the candidates chosen from it


def _tracked(audio: torch.Tensor) -> torch.Tensor:
    """Each candidate's dominant pitch ``Tensor[K]`` in Hz (NaN where the tracker found no periodic loud frame)."""
    return estimate_pitch(audio, CANDIDATE_CONFIG).f0_hz


def check_pitch(params: torch.Tensor, scores: Scores, select: Selection, target: Target,
                keep_tolerance: float = 0.05, render_path: str = "auto") -> Candidates:
    """The candidates ``select(params, scores)`` chooses from a scored pool (``Tensor[P, 100]`` and its
    :class:`Scores`), checked against the target's pitch, with their :class:`PitchCheck` attached.

    Where the target has a clear pitch, each chosen candidate more than 50 cents off gets a copy with its note
    moved by the difference (:func:`inverse.transpose.transposed`, rendered on ``render_path``); a copy whose
    match distance is at most its source's + ``keep_tolerance`` replaces its source *in the pool*, and when any
    did the choice is made again from that pool (so a copy closer than every candidate is taken and the others
    are chosen around it, within ``select``'s MSS bound of it). Candidates chosen only then are tracked too
    (not moved). Those with the target's pitch come first, each group in match order. A moved copy's
    ``pool_index`` is -1. Without a clear target pitch: ``select``'s choice with an empty check.
    """
    chosen = select(params, scores)
    estimate = target.pitch
    if not bool(estimate.clear[0]):
        empty = torch.empty(0)
        return replace(chosen, pitch=PitchCheck(float("nan"), empty, empty.bool()))
    target_hz = float(estimate.f0_hz[0])
    known = torch.full((params.shape[0],), float("nan"))
    tracked = torch.zeros(params.shape[0], dtype=torch.bool)
    known[chosen.pool_index], tracked[chosen.pool_index] = _tracked(chosen.audio), True
    moved_rows = torch.zeros(params.shape[0], dtype=torch.bool)
    cents = pitch_agreement(known[chosen.pool_index], torch.full((len(chosen.pool_index),), target_hz))["cents"]
    off = (cents.abs() > CENTS_TOLERANCE).nonzero()[:, 0]  # NaN (no pitch found) compares False: stays
    moved, movable = transposed(chosen.params[off], -cents[off])
    off, moved = off[movable], moved[movable]
    if off.numel():
        judged = score(moved, target, render_path=render_path)
        keep = (judged.match <= chosen.match[off] + keep_tolerance).nonzero()[:, 0]
        if keep.numel():
            rows = chosen.pool_index[off[keep]]
            params, scores = params.clone(), _replaced(scores, rows, judged.select(keep))
            params[rows], moved_rows[rows] = moved[keep], True
            known[rows] = _tracked(scores.audio[rows])
            chosen = select(params, scores)
            new = chosen.pool_index[~tracked[chosen.pool_index] & ~moved_rows[chosen.pool_index]]
            if new.numel():
                known[new] = _tracked(scores.audio[new])
    found = known[chosen.pool_index]
    chosen = replace(chosen, pool_index=torch.where(moved_rows[chosen.pool_index], -1, chosen.pool_index))
    agrees = pitch_agreement(found, torch.full_like(found, target_hz))["match"]
    match = chosen.match
    order = torch.cat([group[torch.argsort(match[group], stable=True)]
                       for group in (agrees.nonzero()[:, 0], (~agrees).nonzero()[:, 0])])
    return replace(chosen.select(order), pitch=PitchCheck(target_hz, found[order], agrees[order]))


def _replaced(scores: Scores, rows: torch.Tensor, new: Scores) -> Scores:
    """``scores`` with ``rows`` (``Tensor[M]`` long) replaced by ``new`` (M rows)."""
    columns = {}
    for column in fields(Scores):
        columns[column.name] = getattr(scores, column.name).clone()
        columns[column.name][rows] = getattr(new, column.name)
    return Scores(**columns)
