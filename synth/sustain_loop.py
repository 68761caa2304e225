"""A seamless loop in a held note, so that a sampler can sustain it as long as a key is held.

A rendered note lasts 4.088 s with the key held for at most 3.5 s; a pad or a lead in a DAW is held longer. Where a
note's level has settled by :data:`STEADY_FROM_S` (its sustain reached, within :data:`STEADY_DB`), :func:`find_loop`
looks for the loop that ends :data:`LOOP_END_S` into it and begins :data:`MIN_LOOP_S` to :data:`MAX_LOOP_S` earlier,
where the sound just before its start is most like the sound just before its end (normalised cross-correlation over
:data:`MATCH_S`; of the lengths within :data:`NEAR_BEST` of the best, the longest, so that a slow LFO's cycle or a
noise's texture is not cut short), and :func:`with_loop` crossfades the end into the sound before the start (linear
over 50 ms where the two are alike, equal-power over 200 ms where they are not, as for noise) so that the jump back
is inaudible. A note
still decaying, or one that is silent by then, gets no loop: a sampler plays it once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOOP_END_S = 3.4  # the loop ends here: before the key-up at 3.5 s (note_gate's longest)
STEADY_FROM_S = 2.0  # the level from here to the loop's end ...
STEADY_DB = 3.0  # ... within this many dB (0.3 s averages every 0.1 s: a quick tremolo is steady, a slow swell not)
QUIET_DB = -70.0  # dBFS: a note below this at the loop's end is not looped
MIN_LOOP_S, MAX_LOOP_S = 0.25, 1.4  # the loop's length: a slow LFO's cycle fits
MATCH_S = 0.2  # the stretch compared before the loop's start and before its end
NEAR_BEST = 0.002  # lengths whose correlation is this close to the best count as as good; the longest is taken
CROSSFADE_S = 0.05  # where the two ends are alike; where they are not (noise), CROSSFADE_UNLIKE_S: a slower blend
CROSSFADE_UNLIKE_S = 0.2  # of two textures hides the seam better
ALIKE = 0.9  # correlation above which the crossfade is linear (the two ends add in phase), else equal-power


@dataclass(frozen=True)
class SustainLoop:
    """A loop in samples of the note: playback jumps from ``end - 1`` back to ``start``; ``correlation`` (-1..1) of
    the sound before each."""

    start: int
    end: int
    correlation: float


def _level_db(x: np.ndarray) -> float:
    return 10.0 * math.log10(max(float(np.mean(x * x)), 1e-20))


def find_loop(audio: np.ndarray, rate: int) -> SustainLoop | None:
    """The sustain loop of a held note ``audio`` ``[N]`` (float, ``rate`` Hz, the key held from 0 to 3.5 s), or None
    where its level is not steady or is silent (see the module docstring)."""
    end, average = round(LOOP_END_S * rate), round(0.3 * rate)
    if audio.shape[0] < end + 8:
        return None
    levels = [_level_db(audio[start:start + average])
              for start in range(round(STEADY_FROM_S * rate), end - average + 1, round(0.1 * rate))]
    if levels[-1] < QUIET_DB or max(levels) - min(levels) > STEADY_DB:
        return None
    width, shortest, longest = round(MATCH_S * rate), round(MIN_LOOP_S * rate), round(MAX_LOOP_S * rate)
    reference = audio[end - width:end].astype(np.float64)
    region = audio[end - longest - width:end - shortest].astype(np.float64)  # every window a loop start can have
    size = 1 << (region.shape[0] + width).bit_length()
    products = np.fft.irfft(np.fft.rfft(region, size) * np.conj(np.fft.rfft(reference, size)), size)
    products = products[:region.shape[0] - width + 1]  # window k starts at region[k]
    energy = np.concatenate([[0.0], np.cumsum(region * region)])
    window_energy = energy[width:] - energy[:-width]
    correlation = products / np.sqrt(np.maximum(window_energy * float(reference @ reference), 1e-30))
    good = np.nonzero(correlation >= correlation.max() - NEAR_BEST)[0]
    k = int(good[0])  # the earliest window: the longest loop
    start = end - longest + k  # region[k] is the window ending at the loop's start
    return SustainLoop(start, end, float(correlation[k]))


def with_loop(audio: np.ndarray, loop: SustainLoop, rate: int) -> np.ndarray:
    """``audio`` with its last :data:`CROSSFADE_S` (:data:`CROSSFADE_UNLIKE_S` where the ends are not alike) before
    ``loop.end`` crossfaded into the sound before ``loop.start``: the sample before the end is then the one before the
    start, and the jump back is seamless."""
    out = audio.copy()
    alike = loop.correlation >= ALIKE
    fade = min(round((CROSSFADE_S if alike else CROSSFADE_UNLIKE_S) * rate), (loop.end - loop.start) // 2)
    weight = np.arange(1, fade + 1) / fade
    into, away = (weight, 1.0 - weight) if alike else (np.sqrt(weight), np.sqrt(1.0 - weight))
    out[loop.end - fade:loop.end] = away * audio[loop.end - fade:loop.end] + into * audio[loop.start - fade:loop.start]
    return out
