"""Frequency responses of the synth's filters, evaluated on FFT bin frequencies.

Filters are analog prototypes evaluated at ``s = j f / f_c`` and applied by multiplying spectra
(time-varying per STFT frame for the main filter, fixed for the high-pass and the EQ). This keeps the
whole voice differentiable and fast; the price is that responses near Nyquist follow the analog
curve rather than a bilinear-warped digital one. Large tensors use real arithmetic (re, im pairs),
which is what the compiler fuses well and what keeps results independent of batch size and thread
count (see ``synth.invariant_math``).
"""

from __future__ import annotations

import torch

from synth.invariant_math import Complex, cdiv, cmul, power

FILTER_TYPES = ("lowpass", "bandpass", "highpass", "notch")


def two_pole(ratio: torch.Tensor, q: torch.Tensor, kind: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """State-variable 2-pole response ``N(s) / (s^2 + s/Q + 1)`` at ``s = j * ratio``.

    ratio: f / f_c, any shape; q: broadcastable; kind: ``Tensor[4, ...]`` weights of lowpass,
    bandpass, highpass, notch numerators (one-hot for a pure type), each broadcastable to ratio.
    Returns (real, imaginary) parts.
    """
    lp, bp, hp, notch = kind
    r2 = ratio * ratio
    den_re = 1.0 - r2
    den_im = ratio / q
    num_re = lp + notch - (hp + notch) * r2
    num_im = bp * den_im
    inv = 1.0 / (den_re * den_re + den_im * den_im + 1e-12)
    return (num_re * den_re + num_im * den_im) * inv, (num_im * den_re - num_re * den_im) * inv


def main_filter(freqs: torch.Tensor, cutoff_hz: torch.Tensor, q: torch.Tensor, kind: torch.Tensor,
                four_pole: torch.Tensor) -> Complex:
    """Time-varying resonant filter response, (re, im) of ``Tensor[B, M, F]``.

    freqs: ``Tensor[F]`` bin frequencies in Hz; cutoff_hz: ``Tensor[B, M, 1]`` per frame;
    q: ``Tensor[B, 1, 1]``; kind: ``Tensor[4, B, 1, 1]`` type weights; four_pole: ``Tensor[B, 1, 1]``
    (1 for 24 dB/oct: a second, unresonant 2-pole stage of the same type in series).
    """
    ratio = freqs / cutoff_hz
    first = two_pole(ratio, q, kind)
    re2, im2 = two_pole(ratio, torch.full_like(q, 0.7071), kind)
    return cmul(first, (four_pole * re2 + (1.0 - four_pole), four_pole * im2))


def highpass(freqs: torch.Tensor, cutoff_hz: torch.Tensor, q: torch.Tensor) -> Complex:
    """Static 2-pole high-pass, (re, im) of ``Tensor[B, 1, F]``; freqs ``Tensor[F]``, others ``[B, 1, 1]``."""
    one, zero = torch.ones_like(q), torch.zeros_like(q)
    return two_pole(freqs / cutoff_hz, q, torch.stack([zero, zero, one, zero]))


def _biquad(w: torch.Tensor, b: tuple, a: tuple) -> Complex:
    """``(b0 s^2 + b1 s + b2) / (a0 s^2 + a1 s + a2)`` at ``s = j w``."""
    w2 = w * w
    return cdiv((b[2] - b[0] * w2, b[1] * w), (a[2] - a[0] * w2, a[1] * w))


def equalizer(freqs: torch.Tensor, low_gain_db, low_hz, mid_gain_db, mid_hz, mid_q, high_gain_db,
              high_hz) -> Complex:
    """Low shelf, peaking band and high shelf in series (analog RBJ prototypes), (re, im) of ``Tensor[B, F]``.

    freqs: ``Tensor[F]`` Hz; all others ``Tensor[B, 1]`` (dB, Hz, Q).
    """
    shelf_q = 0.7071
    a_low = power(10.0, low_gain_db / 40.0)
    sq = a_low.sqrt() / shelf_q
    low = _biquad(freqs / low_hz, (a_low, a_low * sq, a_low * a_low), (a_low, sq, 1.0))
    a_mid = power(10.0, mid_gain_db / 40.0)
    mid = _biquad(freqs / mid_hz, (1.0, a_mid / mid_q, 1.0), (1.0, 1.0 / (a_mid * mid_q), 1.0))
    a_high = power(10.0, high_gain_db / 40.0)
    sq = a_high.sqrt() / shelf_q
    high = _biquad(freqs / high_hz, (a_high * a_high, a_high * sq, a_high), (1.0, sq, a_high))
    return cmul(cmul(low, mid), high)
