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


class _RealFFT(torch.autograd.Function):
    """``view_as_real(torch.fft.rfft(x, n))`` over the last axis: ``Tensor[..., L]`` -> ``Tensor[..., n // 2 + 1, 2]``.

    The same values as ``torch.fft.rfft``; the backward pass is written out (``n / 2 * irfft`` of the
    gradient with doubled end bins) with out-of-place real arithmetic, because ATen's own backward
    writes into a slice of a complex tensor, which ahead-of-time autograd tracing cannot differentiate
    (see :mod:`synth.fast_render`'s gradient). ``n`` is even.
    """

    @staticmethod
    def forward(x: torch.Tensor, n: int) -> torch.Tensor:
        return torch.view_as_real(torch.fft.rfft(x, n=n))

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.n, ctx.length = inputs[1], inputs[0].shape[-1]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        n = ctx.n
        ends = torch.ones(n // 2 + 1, 1, dtype=grad.dtype, device=grad.device)
        ends[0] = ends[-1] = 2.0
        spectrum = torch.view_as_complex((grad * ends).contiguous())
        return (0.5 * n) * torch.fft.irfft(spectrum, n=n)[..., :ctx.length], None


class _InverseRealFFT(torch.autograd.Function):
    """``torch.fft.irfft(view_as_complex(pair), n)`` over the last axis of the spectrum:
    ``Tensor[..., n // 2 + 1, 2]`` -> ``Tensor[..., n]``; same values, backward written out like
    :class:`_RealFFT`'s (``rfft / n`` of the gradient with doubled inner bins)."""

    @staticmethod
    def forward(pair: torch.Tensor, n: int) -> torch.Tensor:
        return torch.fft.irfft(torch.view_as_complex(pair), n=n)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        ctx.n = inputs[1]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        n = ctx.n
        inner = torch.full((n // 2 + 1, 1), 2.0 / n, dtype=grad.dtype, device=grad.device)
        inner[0] = inner[-1] = 1.0 / n
        return torch.view_as_real(torch.fft.rfft(grad, n=n)) * inner, None


def real_fft(x: torch.Tensor, n: int) -> Complex:
    """``torch.fft.rfft(x, n)`` over the last axis of any ``Tensor[..., L]`` as an (re, im) pair (no
    batch-size guard: see :func:`rfft`)."""
    pair = _RealFFT.apply(x, n)
    return pair[..., 0], pair[..., 1]


def inverse_real_fft(x: Complex, n: int) -> torch.Tensor:
    """``torch.fft.irfft`` of an (re, im) pair over the last axis (no batch-size guard: see :func:`irfft`).
    Stacking the pair lets a compiled graph write the interleaved values from the kernel that computes them."""
    return _InverseRealFFT.apply(torch.stack(x, dim=-1), n)


def rfft(x: torch.Tensor, n: int) -> Complex:
    """``torch.fft.rfft(x, n)`` over the last axis of ``Tensor[B, L]``, as an (re, im) pair.

    MKL takes another code path for a single transform than for a batch, so a lone row is
    transformed beside a copy of itself.
    """
    if x.shape[0] == 1:
        re, im = real_fft(x.expand(2, -1), n)
        return re[:1], im[:1]
    return real_fft(x, n)


def irfft(x: Complex, n: int) -> torch.Tensor:
    """``torch.fft.irfft`` of an (re, im) pair ``Tensor[B, F]`` over the last axis, batch-invariant like
    :func:`rfft`."""
    if x[0].shape[0] == 1:
        return inverse_real_fft((x[0].expand(2, -1), x[1].expand(2, -1)), n)[:1]
    return inverse_real_fft(x, n)
