"""Math whose result does not depend on batch size or thread count.

ATen evaluates elementwise ops with SIMD for the bulk of a tensor and a scalar loop for the tail of
each thread's chunk; the tail's position moves with the batch size and the thread count. For most
functions both paths give the same bits (sin, cos, exp, expm1, log, log1p, atan, tanh, sqrt, real
division), but ``exp2``, ``pow`` with a non-integer exponent, ``atan2`` and complex division do not.
The synth uses these replacements instead, built only from the identical-path functions.
"""

from __future__ import annotations

import math

import torch


def exp2(x: torch.Tensor) -> torch.Tensor:
    """``2 ** x``."""
    return torch.exp(x * math.log(2.0))


def power(base: float, exponent: torch.Tensor) -> torch.Tensor:
    """``base ** exponent`` for a positive constant base."""
    return torch.exp(exponent * math.log(base))


Complex = tuple[torch.Tensor, torch.Tensor]  # (real, imaginary): complex kernels are not path-invariant


def cmul(a: Complex, b: Complex) -> Complex:
    """Complex product of (re, im) pairs."""
    return a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]


def cdiv(a: Complex, b: Complex) -> Complex:
    """Complex quotient of (re, im) pairs, via the conjugate and a real reciprocal."""
    scale = 1.0 / (b[0] * b[0] + b[1] * b[1])
    return (a[0] * b[0] + a[1] * b[1]) * scale, (a[1] * b[0] - a[0] * b[1]) * scale


def polar(magnitude: torch.Tensor, angle: torch.Tensor) -> Complex:
    """``magnitude * exp(j angle)`` as an (re, im) pair."""
    return magnitude * torch.cos(angle), magnitude * torch.sin(angle)


def row_sum(x: torch.Tensor, block: int = 256) -> torch.Tensor:
    """Sum over the last axis of ``Tensor[B, L]`` (L a multiple of ``block``) -> ``Tensor[B, 1]``.

    A long single-row reduction is split across threads, which changes the summation order with the
    batch size and the thread count. Summing short blocks first (many outputs: parallel over outputs
    only) and then the block sums (short: serial) keeps one fixed order.
    """
    return x.reshape(x.shape[0], -1, block).sum(dim=2).sum(dim=1, keepdim=True)


def rfft(x: torch.Tensor, n: int) -> Complex:
    """``torch.fft.rfft(x, n)`` over the last axis of ``Tensor[B, L]``, as an (re, im) pair.

    MKL takes another code path for a single transform than for a batch, so a lone row is
    transformed beside a copy of itself.
    """
    spectrum = torch.fft.rfft(x.expand(2, -1), n=n)[:1] if x.shape[0] == 1 else torch.fft.rfft(x, n=n)
    return spectrum.real, spectrum.imag


def as_complex(x: Complex) -> torch.Tensor:
    """(re, im) pair -> complex tensor. Stacking and viewing lets a compiled graph write the interleaved
    values directly from the kernel that computes them (``torch.complex`` is a separate copy)."""
    return torch.view_as_complex(torch.stack(x, dim=-1))


def irfft(x: Complex, n: int) -> torch.Tensor:
    """``torch.fft.irfft`` of an (re, im) pair ``Tensor[B, F]`` over the last axis, batch-invariant like
    :func:`rfft`."""
    spectrum = as_complex(x)
    if spectrum.shape[0] == 1:
        return torch.fft.irfft(spectrum.expand(2, -1), n=n)[:1]
    return torch.fft.irfft(spectrum, n=n)
