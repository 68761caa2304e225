"""Audio above full scale (a floating-point file whose peak exceeds 1.0), scaled down to it before it is matched.

No patch is that loud: the synth's output soft clip bounds every render within +-1. A float WAV, FLAC or AIFF can hold
samples far beyond that (a bounce of a hot mix, audio written by a model without normalising), and matched as it is,
the level decides much of the answer: a sox sawtooth A3 at +12 dBFS came back with its best candidate's multi-scale
distance to the same note at full scale 0.334 instead of 0.217, its two best 40 cents sharp
(``benchmarks/results/full_scale/`` has the measured effect at several levels).

:func:`full_scale_gain` is the factor that brings a window's peak to full scale, 1.0 where it is within it, so a file
that does not exceed full scale is matched bit for bit as before.
"""

from __future__ import annotations

import math

import torch

#: The peak no render exceeds (the synth's soft clip approaches it).
FULL_SCALE = 1.0


def full_scale_gain(audio: torch.Tensor) -> float:
    """The factor (at most 1.0) that brings ``audio`` ``Tensor[N]``'s peak to :data:`FULL_SCALE`: 1.0 where it is
    within it."""
    peak = float(audio.abs().max()) if audio.numel() else 0.0
    return FULL_SCALE / peak if peak > FULL_SCALE else 1.0


def full_scale_note(name: str, gain: float) -> str:
    """The note for a target scaled by ``gain`` (< 1) to full scale."""
    return (f"{name}: scaled down by {-20.0 * math.log10(gain):.1f} dB to full scale: its peak is "
            f"{-20.0 * math.log10(gain):+.1f} dBFS (floating-point samples above 1.0), louder than any patch plays")
