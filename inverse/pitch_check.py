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
1.5x its MSS). A candidate still off the pitch (or with none: a noise burst gated like the target) is then
replaced: the choice is made again without the rows tracked off the pitch; this runs in rounds (each tracks
only the rows new to the choice, moves those of them that are off, or else excludes them) until all ten agree,
no row is left to exclude, or 10 rounds. The pool's best by match and by MSS are never excluded, so the ten's
best MSS stays the same; where too few rows within the MSS bound are on the pitch, excluded rows within it fill the
places before any row outside it (:func:`~inverse.sampling.select_spread`), so every candidate keeps the bound and
the first may be off the tracker's pitch (held-out row 104: a note and an oscillator a fifth above it, read at their
shared partial, three times the note, while every row within the bound is read at the note). On the 17 clear-pitch
validation targets this put 114 of the 170 returned candidates on the target's pitch, against 76 when the ten were
checked once (``benchmarks/results/pitchfill_ab/``). Those within the tolerance come first, each group in match
order (:class:`PitchCheck` holds the pitches). Targets without a clear pitch (chords, noise, speech) are left as they
are, after one estimate of the target.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
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
    (``agrees`` ``Tensor[K]`` bool, within 50 cents); both empty when the target has no clear pitch.
    ``stopped_after``: the rounds run when a time budget stopped the check (:func:`check_pitch`'s ``deadline``;
    ``rounds`` set to it gives the same check again), None when it ran to its end."""

    target_hz: float
    candidate_hz: torch.Tensor
    agrees: torch.Tensor
    stopped_after: int | None = None

    @property
    def checked(self) -> bool:
        return not math.isnan(self.target_hz)

    def select(self, index: torch.Tensor) -> PitchCheck:
        """The findings of the candidates at ``index`` (``Tensor[K']`` long), in that order."""
        return replace(self, candidate_hz=self.candidate_hz[index], agrees=self.agrees[index]) if self.checked else self

    def candidate(self, k: int) -> float | None:
        """Candidate ``k``'s pitch in Hz; None where the target has no clear pitch or the tracker found none."""
        if not self.checked or math.isnan(float(self.candidate_hz[k])):
            return None
        return float(self.candidate_hz[k])


# a scored pool and the rows it may not choose (``Tensor[P]`` bool; None: all may) -> the candidates chosen
Selection = Callable[[torch.Tensor, Scores, "torch.Tensor | None"], "Candidates"]


def candidate_pitch(audio: torch.Tensor) -> torch.Tensor:
    """Each candidate's dominant pitch ``Tensor[K]`` in Hz (NaN where the tracker found no periodic loud frame)."""
    return estimate_pitch(audio, CANDIDATE_CONFIG).f0_hz


def check_pitch(params: torch.Tensor, scores: Scores, select: Selection, target: Target,
                keep_tolerance: float = 0.05, render_path: str = "auto", rounds: int = 10,
                deadline: float | None = None) -> Candidates:
    """The candidates ``select(params, scores, None)`` chooses from a scored pool (``Tensor[P, 100]`` and its
    :class:`Scores`), checked against the target's pitch, with their :class:`PitchCheck` attached.

    Where the target has a clear pitch, up to ``rounds`` times: the chosen candidates not yet tracked are
    tracked; each one more than 50 cents off and not yet tried gets a copy with its note moved by the difference
    (:func:`inverse.transpose.transposed`, rendered on ``render_path``), and a copy whose match distance is at
    most its source's + ``keep_tolerance`` replaces its source *in the pool*; when none did, every tracked row
    off the pitch (or with none) is excluded, except the pool's best by match and by MSS; then the choice is made
    again (so a copy closer than every candidate leads and the others are chosen around it, within ``select``'s
    MSS bound of it). It stops when no row is left to exclude. Those with the target's pitch come first, each
    group in match order. A moved copy's ``pool_index`` is -1. Without a clear target pitch: ``select``'s choice
    with an empty check.

    ``deadline`` (a ``time.perf_counter()`` value) bounds the rounds, whose count varies with the target (0.1-2 s
    on the 2-core machine): after the tracking that opens a round, the check stops where that round, if it took as
    long as the longest one so far, would end past the deadline (at once, before the first, where it has passed).
    Stopped after ``r`` rounds, it is the check of ``rounds=r``, and says so (:attr:`PitchCheck.stopped_after`).
    """
    chosen = select(params, scores, None)
    estimate = target.pitch
    if not bool(estimate.clear[0]):
        empty = torch.empty(0)
        return replace(chosen, pitch=PitchCheck(float("nan"), empty, empty.bool()))
    target_hz = float(estimate.f0_hz[0])
    known = torch.full((params.shape[0],), float("nan"))
    tracked = torch.zeros(params.shape[0], dtype=torch.bool)

    def track(rows: torch.Tensor) -> None:
        rows = rows[~tracked[rows]]
        if rows.numel():
            known[rows], tracked[rows] = candidate_pitch(scores.audio[rows]), True

    def agreeing(hz: torch.Tensor) -> torch.Tensor:
        return pitch_agreement(hz, torch.full_like(hz, target_hz))["match"]

    moved_rows = torch.zeros(params.shape[0], dtype=torch.bool)  # rows replaced by their moved copy
    tried = torch.zeros(params.shape[0], dtype=torch.bool)  # rows whose copy was judged (kept or not)
    excluded = torch.zeros(params.shape[0], dtype=torch.bool)
    owned = False  # the pool is the caller's until the first copy replaces a row
    stopped_after, longest, round_started = None, 0.0, time.perf_counter()
    for step in range(rounds + 1):
        track(chosen.pool_index)
        if step == rounds:
            break
        now = time.perf_counter()
        if step:
            longest = max(longest, now - round_started)
        if deadline is not None and now + longest > deadline:
            stopped_after = step
            break
        round_started = now
        rows = chosen.pool_index
        cents = pitch_agreement(known[rows], torch.full((len(rows),), target_hz))["cents"]
        off = ((cents.abs() > CENTS_TOLERANCE) & ~tried[rows]).nonzero()[:, 0]  # NaN (no pitch) compares False
        tried[rows[off]] = True
        moved, movable = transposed(chosen.params[off], -cents[off])
        off, moved = off[movable], moved[movable]
        keep = torch.empty(0, dtype=torch.long)
        if off.numel():
            judged = score(moved, target, render_path=render_path)
            keep = (judged.match <= chosen.match[off] + keep_tolerance).nonzero()[:, 0]
        if keep.numel():
            rows = rows[off[keep]]
            if not owned:
                params, scores, owned = params.clone(), scores.clone(), True
            scores.assign(rows, judged.select(keep))
            params[rows], moved_rows[rows], tracked[rows] = moved[keep], True, False
        else:
            more = tracked & ~agreeing(known) & ~excluded
            more[torch.argmin(scores.match)] = more[torch.argmin(scores.mss)] = False
            if not bool(more.any()):
                break
            excluded |= more
        chosen = select(params, scores, excluded)
    found = known[chosen.pool_index]
    chosen = replace(chosen, pool_index=torch.where(moved_rows[chosen.pool_index], -1, chosen.pool_index))
    return replace(chosen, pitch=PitchCheck(target_hz, found, agreeing(found), stopped_after)).in_pitch_order()
