"""The effects chain: waveshaping drive, chorus, and the linear time-invariant stage (echo + reverb).

Echo and reverb are one frequency-domain multiplication: the echo line's response is a closed-form
geometric series, the reverb's an impulse response of band-split noise with per-band exponential
decay plus early reflections. Both are differentiable in their times, gains and damping.
"""

from __future__ import annotations

import math

import torch

from synth.invariant_math import Complex, cdiv, cmul, polar, power, rfft, row_sum

LN_1000 = math.log(1000.0)  # RT60: amplitude falls by 1000x (60 dB)
ENVELOPE_STEP = 64  # samples per step of the reverb tail's decay envelope


def _soft_cubic(x: torch.Tensor) -> torch.Tensor:
    """Cubic soft clip: ``1.5 (x - x^3 / 3)`` on [-1, 1], flat at +-1 outside."""
    x = torch.clamp(x, -1.0, 1.0)
    return 1.5 * x - 0.5 * x * x * x


def drive(x: torch.Tensor, gain_db, kind: torch.Tensor, mix, bias) -> torch.Tensor:
    """Waveshaper with dry/wet mix. x: ``Tensor[B, N]``; gain_db, mix, bias: ``Tensor[B, 1]``;
    kind: ``Tensor[3, B, 1]`` weights of tanh, cubic soft clip and sine fold."""
    driven = x * power(10.0, gain_db / 20.0) + bias
    tanh = torch.tanh(driven) - torch.tanh(bias)
    cubic = _soft_cubic(driven) - _soft_cubic(bias)
    fold = torch.sin(0.5 * math.pi * driven) - torch.sin(0.5 * math.pi * bias)
    wet = kind[0] * tanh + kind[1] * cubic + kind[2] * fold
    return x + mix * (wet - x)


def chorus(x: torch.Tensor, delay_samples: torch.Tensor, mix) -> torch.Tensor:
    """Modulated delay line with linear interpolation, mixed with the dry signal.

    x: ``Tensor[B, N]``; delay_samples: ``Tensor[B, N]`` (fractional, >= 0); mix: ``Tensor[B, 1]``.
    """
    n = torch.arange(x.shape[1], device=x.device, dtype=x.dtype)
    position = n - delay_samples
    base = torch.floor(position)
    frac = position - base
    index = base.long()
    padded = torch.nn.functional.pad(x, (2, 0))  # index -1 and -2 read zeros (before the note)
    first = torch.gather(padded, 1, (index + 2).clamp(min=0))
    second = torch.gather(padded, 1, (index + 3).clamp(min=0))
    wet = first + frac * (second - first)
    return x + 0.5 * mix * (wet - x)


def echo_response(omega: torch.Tensor, freqs: torch.Tensor, time_samples, feedback, damping_hz,
                  num_samples: int) -> Complex:
    """Echo line: taps at T, 2T, .. with gain ``(feedback * lowpass)^k``; (re, im) of ``Tensor[B, F]``.

    The low-pass is one pole at ``damping_hz``, so every echo is duller than the one before.
    omega: ``Tensor[F]`` radians per sample; freqs: ``Tensor[F]`` Hz; time_samples, feedback, damping_hz:
    ``Tensor[B, 1]``. The series is summed in closed form up to the last tap inside the output
    (``num_samples``), so nothing wraps around the FFT.
    """
    taps = torch.floor(num_samples / time_samples.detach()).clamp(min=1.0)
    ratio = freqs / damping_hz
    log_gain = torch.log(feedback.clamp(min=1e-6)) - 0.5 * torch.log1p(ratio * ratio)
    delay_angle = -omega * time_samples
    angle = delay_angle - torch.atan(ratio)
    g_re, g_im = polar(torch.exp(log_gain), angle)
    gk_re, gk_im = polar(torch.exp(taps * log_gain), taps * angle)
    series = cdiv((1.0 - gk_re, -gk_im), (1.0 - g_re, -g_im))
    return cmul(polar(torch.ones_like(delay_angle), delay_angle), series)


def reverb_response(bands: torch.Tensor, early: torch.Tensor, band_hz: torch.Tensor, time_s: torch.Tensor,
                    omega: torch.Tensor, fft_size: int, decay_s, damping_hz, early_level, predelay_samples
                    ) -> Complex:
    """Reverb: (re, im) of ``Tensor[B, F]``, the response of a unit-energy impulse response.

    bands: ``Tensor[4, L]`` band-split noise; early: ``Tensor[L]`` early-reflection taps (unit energy);
    band_hz: ``Tensor[4, 1]`` band centres; time_s: ``Tensor[L]``. The diffuse tail of band k decays
    with RT60 ``decay_s / (1 + (band_hz_k / damping_hz)^2)``. ``decay_s``, ``damping_hz``,
    ``early_level``, ``predelay_samples``: ``Tensor[B, 1]``.
    """
    ratio = band_hz / damping_hz[:, None, :]
    rt60 = decay_s[:, None, :] / (1.0 + ratio * ratio)  # (B, 4, 1)
    # The decay is evaluated once per block of ENVELOPE_STEP samples (4 ms: inaudible in a noise tail).
    steps = time_s[::ENVELOPE_STEP]
    envelope = torch.exp(-LN_1000 * steps / rt60)  # (B, 4, L / step)
    blocks = bands.reshape(bands.shape[0], -1, ENVELOPE_STEP)  # (4, L / step, step)
    tail = (blocks * envelope[..., None]).sum(dim=1).flatten(1)  # (B, L)
    tail = tail * torch.rsqrt(row_sum(tail * tail) + 1e-12)
    impulse = tail + early_level * early
    return cmul(rfft(impulse, fft_size), polar(torch.ones_like(omega), -omega * predelay_samples))
