"""Pitch alignment: transposed copies of candidates whose partials line up with the target's.

A candidate with the right timbre a few semitones or an octave off is a near miss that neither the ranking nor
gradient refinement repairs: a spectral distance is flat or rising between one alignment of the partials and
the next, so gradient steps on ``note_pitch`` stay where they start, and retrieval's pooled spectrograms are
too coarse to tell a semitone. Here both sounds' long-term average spectra (``Features.shape``: 2 Hz bins) are
pooled onto a log-frequency axis (:data:`BINS_PER_OCTAVE` per octave, :data:`LOW_HZ` to :data:`HIGH_HZ`),
where a transposition is a shift; their cross-correlation over +-:data:`MAX_CENTS` gives, per candidate, the
shift that best lines its spectrum up with the target's, and the candidate's ``note_pitch`` moves by it (the
oscillators, the sub oscillator and the key-tracked part of the filter follow the note). The copies are
rendered and scored like any candidate; the ranking decides whether they are better.
"""

from __future__ import annotations

import functools
import math

import torch

from synth.params import PARAM_INDEX, PARAM_SPECS
from synth.perceptual import SHAPE_FFT, SHAPE_POWER
from synth.spectrogram import DEFAULT_CONFIG

BINS_PER_OCTAVE = 120  # 10 cents per bin
LOW_HZ = 40.0
HIGH_HZ = 7900.0
MAX_CENTS = 2400.0  # two octaves either way
MIN_CENTS = 20.0  # smaller shifts are not worth a render
_NOTE = PARAM_INDEX["note_pitch"]
_SEMITONES = PARAM_SPECS[_NOTE].high - PARAM_SPECS[_NOTE].low  # note_pitch's range, in semitones


@functools.lru_cache(maxsize=2)
def log_frequency_bank(device: str = "cpu") -> torch.Tensor:
    """``Tensor[L, SHAPE_FFT // 2 + 1]``: triangular weights pooling linear-frequency bins onto the log axis.

    Each log bin's triangle is one log bin wide each side, or one linear bin's spacing where that is wider
    (below ~340 Hz), so every log bin sees its nearest linear bins (interpolation) and every linear bin is seen.
    """
    bins = SHAPE_FFT // 2 + 1
    hz = torch.arange(bins, dtype=torch.float64) * DEFAULT_CONFIG.sample_rate / SHAPE_FFT
    count = int(BINS_PER_OCTAVE * math.log2(HIGH_HZ / LOW_HZ)) + 1
    position = BINS_PER_OCTAVE * torch.log2(hz.clamp_min(1e-3) / LOW_HZ)  # each linear bin, in log bins
    spacing = BINS_PER_OCTAVE * torch.log2(1.0 + (DEFAULT_CONFIG.sample_rate / SHAPE_FFT)
                                           / (LOW_HZ * 2.0 ** (torch.arange(count, dtype=torch.float64)
                                                               / BINS_PER_OCTAVE)))
    width = spacing.clamp_min(1.0)[:, None]  # (L, 1)
    weights = (1.0 - (position[None, :] - torch.arange(count, dtype=torch.float64)[:, None]).abs() / width)
    return weights.clamp_min(0.0).float().to(device)


def log_spectrum(shape: torch.Tensor) -> torch.Tensor:
    """``Tensor[B, L]``: long-term average spectra ``Tensor[B, SHAPE_FFT // 2 + 1]`` (``Features.shape``) pooled onto
    the log axis as linear magnitudes, then square-root compressed (strong partials lead, weaker ones still count).

    Pooling compressed magnitudes instead would raise a noise floor with the number of linear bins per log bin
    (and the alignment would stick at 0); compressing more (magnitude ** 0.25) would weigh every partial about
    the same, so that a harmonic stack matched itself an octave up."""
    linear = shape.clamp_min(0.0) ** (1.0 / SHAPE_POWER)
    return (linear @ log_frequency_bank(str(shape.device)).T).clamp_min(0.0).sqrt()


def best_shifts(candidates: torch.Tensor, target: torch.Tensor, max_cents: float = MAX_CENTS) -> torch.Tensor:
    """Per candidate, the transposition in cents (``Tensor[B]``, a multiple of the log bin's 10 cents) that
    maximises the cross-correlation of its log spectrum with the target's.

    candidates: ``Tensor[B, SHAPE_FFT // 2 + 1]``; target: ``Tensor[SHAPE_FFT // 2 + 1]`` (``Features.shape``
    rows). Positive: the candidate must go up.
    """
    c, t = log_spectrum(candidates), log_spectrum(target[None])
    length = c.shape[1]
    n = 2 * length  # zero padding: no wrap-around within +-length
    correlation = torch.fft.irfft(torch.fft.rfft(t, n) * torch.fft.rfft(c, n).conj(), n)  # [b, lag mod n]
    reach = min(int(max_cents / (1200.0 / BINS_PER_OCTAVE)), length - 1)
    lags = torch.arange(-reach, reach + 1)
    best = correlation[:, lags % n].argmax(dim=1)
    return lags[best].float() * (1200.0 / BINS_PER_OCTAVE)


def transposed(params: torch.Tensor, cents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``params`` ``Tensor[B, 100]`` with ``note_pitch`` moved by ``cents`` ``Tensor[B]``, and which rows could
    move (``Tensor[B]`` bool: the shift is at least :data:`MIN_CENTS` and the note stays in range)."""
    note = params[:, _NOTE] + cents / 100.0 / _SEMITONES
    movable = (cents.abs() >= MIN_CENTS) & (note >= 0.0) & (note <= 1.0)
    out = params.clone()
    out[:, _NOTE] = torch.where(movable, note, params[:, _NOTE])
    return out, movable
