"""Pitch check: the returned candidates that are off the target's pitch are moved onto it where that does not
make them sound worse, and those with the target's pitch come first.

The ranking distance (:func:`synth.perceptual.match_distance`) compares spectra, not pitch: a candidate one or
two octaves below a note, whose partials include all of the note's and whose extra ones are weak, can rank
first, and a listener (or a pitch tracker) hears the lower note; and the choice of mutually different
candidates admits any within 1.5x the best one's MSS, which barely sees a semitone. So when the target has a
clear pitch (:func:`synth.pitch.estimate_pitch`: CREPE tiny, whose weights ship in its wheel), the returned
candidates' pitches are estimated too. A candidate more than :data:`~synth.pitch.CENTS_TOLERANCE` off gets a
copy with its note moved by the difference (:func:`inverse.transpose.transposed`), which replaces it when its
match distance is at most the original's + ``keep_tolerance`` and every candidate's MSS stays within ``within``
x the best one's (an octave-low patch moved up an octave is often another timbre, and stays as it was). Then
those within the tolerance come first, each group in match order (:class:`PitchCheck` holds the pitches).
Targets without a clear pitch (chords, noise, speech) are left as they are, after one estimate of the target
(~0.5 s); a pitched one costs ~1.5-4 s more for 10 candidates on 2 cores (more when copies are moved).
"""

from __future__ import annotations

import math
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


def _moved_onto(candidates: Candidates, target: Target, target_hz: float, found: torch.Tensor,
                keep_tolerance: float, within: float, render_path: str) -> tuple[Candidates, torch.Tensor]:
    """Candidates whose pitch ``found`` (``Tensor[K]`` Hz) is off ``target_hz`` replaced by their copy moved onto
    it where that copy's match is at most theirs + ``keep_tolerance`` and the candidates' MSS stay within
    ``within`` x the best one's (copies taken in match order, one at a time: a copy much closer than the rest
    would leave them out of the bound); and their pitches (re-estimated where moved)."""
    cents = pitch_agreement(found, torch.full_like(found, target_hz))["cents"]
    off = (cents.abs() > CENTS_TOLERANCE).nonzero()[:, 0]  # NaN (no pitch found) compares False: stays
    moved, movable = transposed(candidates.params[off], -cents[off])
    off, moved = off[movable], moved[movable]
    if off.numel() == 0:
        return candidates, found
    judged = score(moved, target, render_path=render_path)
    keep = judged.match <= candidates.match[off] + keep_tolerance
    mss = candidates.mss.clone()
    for k in torch.argsort(judged.match, stable=True).tolist():
        trial = mss.clone()
        trial[off[k]] = judged.mss[k]
        keep[k] &= bool(trial.max() <= within * trial.min())
        if keep[k]:
            mss = trial
    if not bool(keep.any()):
        return candidates, found
    judged, moved = judged.select(keep.nonzero()[:, 0]), moved[keep]
    count = found.shape[0]
    index = torch.arange(count)
    index[off[keep]] = count + torch.arange(moved.shape[0])  # each replaced row points at its moved copy
    both = replace(candidates, params=torch.cat([candidates.params, moved]),
                   scores=Scores.cat([candidates.scores, judged]),
                   pool_index=torch.cat([candidates.pool_index, torch.full((moved.shape[0],), -1)]))  # -1: a copy
    return both.select(index), torch.cat([found, estimate_pitch(judged.audio, CANDIDATE_CONFIG).f0_hz])[index]


def check_pitch(candidates: Candidates, target: Target, keep_tolerance: float = 0.05, within: float = 1.5,
                render_path: str = "auto") -> Candidates:
    """``candidates`` (best first) with those off the target's pitch moved onto it where that keeps them within
    ``keep_tolerance`` of their match distance and within ``within`` x the best one's MSS (rendered on
    ``render_path``), then reordered so that those with the target's pitch come first, with their
    :class:`PitchCheck` attached (``candidates.pitch``); unchanged but for the check when the target's pitch is
    not clear. A moved candidate's ``pool_index`` is -1."""
    estimate = estimate_pitch(target.audio[None])
    if not bool(estimate.clear[0]):
        empty = torch.empty(0)
        return replace(candidates, pitch=PitchCheck(float("nan"), empty, empty.bool()))
    target_hz = float(estimate.f0_hz[0])
    found = estimate_pitch(candidates.audio, CANDIDATE_CONFIG).f0_hz
    candidates, found = _moved_onto(candidates, target, target_hz, found, keep_tolerance, within, render_path)
    agrees = pitch_agreement(found, torch.full_like(found, target_hz))["match"]
    match = candidates.match
    order = torch.cat([group[torch.argsort(match[group], stable=True)]
                       for group in (agrees.nonzero()[:, 0], (~agrees).nonzero()[:, 0])])
    return replace(candidates.select(order), pitch=PitchCheck(target_hz, found[order], agrees[order]))
