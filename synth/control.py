"""Control-rate signals: the time grid, linear upsampling to audio rate, envelopes and LFOs.

Modulation is computed on a coarse grid (every ``CONTROL_HOP`` samples) and linearly interpolated to
audio rate, which is ~64x cheaper than computing it per sample and inaudible for envelopes and LFOs.
Every function is row-wise (no cross-example operation) and differentiable in its continuous inputs.
"""

from __future__ import annotations

import math

import torch

CONTROL_HOP = 64  # samples between control points (4 ms at 16 kHz)


def upsample(control: torch.Tensor, ramp: torch.Tensor) -> torch.Tensor:
    """Linear interpolation of control points to audio rate.

    control: ``Tensor[B, K]`` at samples ``0, H, 2H, ..``; ramp: ``Tensor[H]`` = ``arange(H) / H``.
    Returns ``Tensor[B, (K - 1) * H]``.
    """
    start = control[:, :-1, None]
    return (start + (control[:, 1:, None] - start) * ramp).flatten(1)


def _segment(progress: torch.Tensor, curve: torch.Tensor) -> torch.Tensor:
    """Envelope segment shape on progress in [0, 1]: linear (curve 0) to strongly exponential (1)."""
    k = 1e-3 + 5.0 * curve
    return torch.expm1(-k * progress) / torch.expm1(-k)


def adsr(t: torch.Tensor, attack_s, decay_s, sustain, release_s, gate_s, curve) -> torch.Tensor:
    """ADSR envelope in [0, 1].

    t: ``Tensor[K]`` control times in seconds; the other arguments are ``Tensor[B, 1]`` (seconds or
    levels). Attack rises to 1, decay falls to ``sustain``, and at ``gate_s`` the release falls from
    wherever the envelope is to 0. Returns ``Tensor[B, K]``.
    """

    def held(time):
        rise = _segment(torch.clamp(time / attack_s, 0.0, 1.0), curve)
        fall = _segment(torch.clamp((time - attack_s) / decay_s, 0.0, 1.0), curve)
        return rise * (1.0 - (1.0 - sustain) * fall)

    at_gate = held(gate_s)
    released = at_gate * (1.0 - _segment(torch.clamp((t - gate_s) / release_s, 0.0, 1.0), curve))
    return torch.where(t < gate_s, held(t.expand_as(released)), released)


def lfo(t: torch.Tensor, rate_hz, shape_onehot, phase, fade_s, sample_hold: torch.Tensor) -> torch.Tensor:
    """Low-frequency oscillator in [-1, 1] with a fade-in.

    t: ``Tensor[K]`` seconds; rate_hz, phase, fade_s: ``Tensor[B, 1]``; shape_onehot: ``Tensor[B, 5]``
    (sine, triangle, saw, square, sample & hold); sample_hold: ``Tensor[S]`` fixed random values.
    Returns ``Tensor[B, K]``.
    """
    cycles = phase + rate_hz * t
    position = cycles - torch.floor(cycles)
    sine = torch.sin(2 * math.pi * position)
    triangle = 1.0 - 4.0 * torch.abs(torch.frac(position + 0.25) - 0.5)
    saw = 2.0 * position - 1.0
    square = torch.where(position < 0.5, 1.0, -1.0)
    held = sample_hold[torch.floor(cycles).long().remainder(sample_hold.numel())]
    shapes = torch.stack([sine, triangle, saw, square, held], dim=1)
    wave = (shapes * shape_onehot[:, :, None]).sum(dim=1)
    fade = torch.clamp(t / (fade_s + 1e-4), 0.0, 1.0)
    return wave * fade
