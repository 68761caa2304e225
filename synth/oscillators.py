"""Band-limited oscillators driven by a control-rate frequency curve.

Phase is integrated exactly for a frequency that is piecewise linear between control points, segment
by segment (start phase of each segment by a float64 cumulative sum over the few control points,
then closed-form inside the segment), so it stays precise over the whole note without a float64
per-sample cumulative sum. Saw and pulse edges use PolyBLEP to keep aliasing low.
"""

from __future__ import annotations

import math

import torch


def phase(freq: torch.Tensor, start: torch.Tensor, hop: int) -> torch.Tensor:
    """Phase in cycles, wrapped to [0, 1).

    freq: ``Tensor[B, K]`` frequency in cycles per sample at control points ``0, hop, 2 hop, ..``
    (linear in between); start: ``Tensor[B, 1]`` start phase in cycles. Returns
    ``Tensor[B, (K - 1) * hop]``.
    """
    f0 = freq[:, :-1]
    slope = (freq[:, 1:] - f0) / hop
    per_segment = f0 * hop + slope * (hop * (hop - 1) / 2)
    offsets = torch.cumsum(per_segment.double(), dim=1) - per_segment.double()
    offsets = offsets + start.double()
    offsets = (offsets - torch.floor(offsets)).to(freq.dtype)  # remainder(1.0); fmod is slow in compiled loops
    j = torch.arange(hop, dtype=freq.dtype, device=freq.device)
    inside = f0[:, :, None] * j + slope[:, :, None] * (j * (j - 1) / 2)
    total = (offsets[:, :, None] + inside).flatten(1)
    return total - torch.floor(total)


def _polyblep(t: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
    """PolyBLEP residual for a unit downward step at phase 0; t in [0, 1), dt in cycles/sample."""
    after = t / dt
    before = (t - 1.0) / dt
    return torch.where(t < dt, 2 * after - after * after - 1.0,
                       torch.where(t > 1.0 - dt, before * before + 2 * before + 1.0, torch.zeros_like(t)))


def saw(p: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
    """Rising band-limited saw in [-1, 1]."""
    return 2.0 * p - 1.0 - _polyblep(p, dt)


def pulse(p: torch.Tensor, dt: torch.Tensor, width: torch.Tensor, saw_p: torch.Tensor | None = None) -> torch.Tensor:
    """Band-limited pulse (+1 for ``p >= width``, -1 before) as the difference of two saws; DC removed,
    so width changes timbre, not offset. ``saw_p`` may pass an already computed ``saw(p, dt)``."""
    if saw_p is None:
        saw_p = saw(p, dt)
    return saw_p - saw(torch.frac(p - width + 1.0), dt) - (2.0 * width - 1.0)


def morph(p: torch.Tensor, dt: torch.Tensor, shape: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    """Waveform morph: shape 0 sine, 1/3 triangle, 2/3 saw, 1 pulse (crossfades in between).

    p, dt, width: ``Tensor[B, N]``; shape: ``Tensor[B, 1]``. Returns ``Tensor[B, N]``.
    """
    x = shape * 3.0
    w_sine = torch.clamp(1.0 - x, min=0.0)
    w_tri = torch.clamp(1.0 - torch.abs(x - 1.0), min=0.0)
    w_saw = torch.clamp(1.0 - torch.abs(x - 2.0), min=0.0)
    w_pulse = torch.clamp(x - 2.0, min=0.0)
    triangle = 1.0 - 4.0 * torch.abs(torch.frac(p + 0.25) - 0.5)
    saw_p = saw(p, dt)
    return (w_sine * torch.sin(2 * math.pi * p) + w_tri * triangle + w_saw * saw_p
            + w_pulse * pulse(p, dt, width, saw_p))
