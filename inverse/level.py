"""An audio target's level brought into the range patches play before it is matched: a floating-point file whose peak
exceeds full scale is scaled down to it, a very quiet one raised to :data:`QUIET_PEAK`.

No patch is louder than full scale: the synth's output soft clip bounds every render within +-1. A float WAV, FLAC or
AIFF can hold samples far beyond that (a bounce of a hot mix, audio written by a model without normalising), and
matched as it is, the level decided much of the answer: a sox sawtooth A3 at +12 dBFS came back with its best
candidate's multi-scale distance to the same note at full scale 0.334 instead of 0.217, its two best 40 cents sharp.

At the other end, the multi-scale distance floors magnitudes at -80 dB (:class:`synth.perceptual.MSSConfig`), so a
note peaking at -60 dBFS keeps only ~20 dB of its spectrum above the floor, and the answer matches the floor: the same
sawtooth at -60 dBFS came back with candidates whose timbre (each scaled to the note's peak) was 0.736 from it, at
-40 dBFS 0.245. A target peaking below :data:`QUIET_PEAK` (and above the -80 dBFS of a silent file, which is refused)
is raised to it. Renders of the synth's priors peak below it only rarely (3.8 % of 1,024 prior-2 renders).

``benchmarks/results/full_scale/`` and ``benchmarks/results/quiet_level/`` have the measured effects. :func:`level_gain`
is 1.0 for a target within the range, so such a file is matched bit for bit as before.
"""

from __future__ import annotations

import math

import torch

#: The peak no render exceeds (the synth's soft clip approaches it).
FULL_SCALE = 1.0
#: A target peaking below this (-40 dBFS) is raised to it ...
QUIET_DBFS = -40.0
QUIET_PEAK = 10.0 ** (QUIET_DBFS / 20.0)
#: ... unless it peaks below this (-80 dBFS): silence, nothing to match (:func:`inverse.target.check_audible` refuses
#: it).
SILENT_PEAK = 1e-4


def level_gain(audio: torch.Tensor) -> float:
    """The factor that brings ``audio`` ``Tensor[N]``'s peak within :data:`QUIET_PEAK` .. :data:`FULL_SCALE`: below 1
    above full scale, above 1 below the quiet peak (not for a silent window), else 1.0."""
    peak = float(audio.abs().max()) if audio.numel() else 0.0
    if peak > FULL_SCALE:
        return FULL_SCALE / peak
    if SILENT_PEAK <= peak < QUIET_PEAK * 0.999:  # (a file at -40 dBFS in float32 reads a hair under it: left alone)
        return QUIET_PEAK / peak
    return 1.0


def level_note(name: str, gain: float) -> str:
    """The note for a target scaled by ``gain`` (not 1)."""
    db = 20.0 * math.log10(gain)
    if gain < 1.0:  # (a full-scale PCM file resampled overshoots by a few thousandths of a dB: not "+0.0 dBFS")
        down = f"{-db:.1f}" if -db >= 0.095 else f"{-db:.1g}"
        return (f"{name}: scaled down by {down} dB to full scale: its peak is +{down} dBFS (samples above 1.0: a "
                "floating-point file's, or a full-scale file's after resampling), louder than any patch plays")
    return (f"{name}: raised by {db:.1f} dB to a peak of {QUIET_DBFS:.0f} dBFS: its peak is {QUIET_DBFS - db:.1f} "
            "dBFS, so quiet that the match would hear mostly its floor")
