"""The mask model's losses: reconstruction (spectral + waveform), adversarial, perceptual and sparsity.

Shapes: normalised spectrograms ``Tensor[B, 1, 512, 512]`` in [0, 1] (log magnitude: ``v = (dB + 80) / 80``),
audio ``Tensor[B, N]`` at 16 kHz, masks ``Tensor[B, 1, 512, 512]``, discriminator logits any shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from synth.spectrogram import DEFAULT_CONFIG

_EPS = 1e-8


def spectral_l1(enhanced: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Mean |difference| of normalised log-magnitude spectrograms (multiply by 80 for dB)."""
    return (enhanced - clean).abs().mean()


def multi_resolution_stft(enhanced: torch.Tensor, clean: torch.Tensor,
                          resolutions: tuple[tuple[int, int], ...] = ((256, 64), (512, 128), (2048, 512))
                          ) -> torch.Tensor:
    """Multi-resolution STFT loss (Yamamoto et al., Parallel WaveGAN): per (n_fft, hop), spectral
    convergence ``||S_c| - |S_e||_F / ||S_c||_F`` plus mean |log|S_c| - log|S_e||``, averaged."""
    total = enhanced.new_zeros(())
    for n_fft, hop in resolutions:
        window = torch.hann_window(n_fft, device=enhanced.device, dtype=enhanced.dtype)
        mags = [torch.stft(x, n_fft, hop, window=window, return_complex=True).abs() for x in (enhanced, clean)]
        convergence = torch.linalg.vector_norm(mags[1] - mags[0], dim=(-2, -1)) / (
            torch.linalg.vector_norm(mags[1], dim=(-2, -1)) + _EPS)
        log_distance = (torch.log(mags[1] + 1e-5) - torch.log(mags[0] + 1e-5)).abs().mean(dim=(-2, -1))
        total = total + (convergence + log_distance).mean()
    return total / len(resolutions)


def si_sdr(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Scale-invariant signal-to-distortion ratio in dB per row: ``Tensor[B]`` (higher is better)."""
    estimate = estimate - estimate.mean(dim=-1, keepdim=True)
    reference = reference - reference.mean(dim=-1, keepdim=True)
    scale = (estimate * reference).sum(-1, keepdim=True) / (reference.square().sum(-1, keepdim=True) + _EPS)
    target = scale * reference
    noise = estimate - target
    return 10 * torch.log10((target.square().sum(-1) + _EPS) / (noise.square().sum(-1) + _EPS))


def bounded_si_sdr(estimate: torch.Tensor, reference: torch.Tensor, max_db: float = 30.0) -> torch.Tensor:
    """SI-SDR per row that saturates at ``max_db`` (Wisdom et al.'s thresholded SNR: the residual's power gets
    ``10**(-max_db/10)`` of the target's added). As a loss, an almost clean row then cannot dominate a batch
    with a gradient that grows without bound as its residual vanishes. ``Tensor[B]`` in dB."""
    estimate = estimate - estimate.mean(dim=-1, keepdim=True)
    reference = reference - reference.mean(dim=-1, keepdim=True)
    scale = (estimate * reference).sum(-1, keepdim=True) / (reference.square().sum(-1, keepdim=True) + _EPS)
    target_power = (scale * reference).square().sum(-1)
    noise_power = (estimate - scale * reference).square().sum(-1)
    return 10 * torch.log10((target_power + _EPS) / (noise_power + 10 ** (-max_db / 10) * target_power + _EPS))


def waveform_loss(enhanced: torch.Tensor, clean: torch.Tensor, kind: str) -> torch.Tensor:
    """``mrstft``: :func:`multi_resolution_stft`; ``sisdr``: ``-mean bounded SI-SDR / 50`` (about the same
    scale; :func:`bounded_si_sdr`, at most 30 dB)."""
    if kind == "mrstft":
        return multi_resolution_stft(enhanced, clean)
    return -bounded_si_sdr(enhanced, clean).mean() / 50.0


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Least squares (real -> 1, fake -> 0) or hinge loss for the discriminator's logits."""
    if kind == "lsgan":
        return (real - 1).square().mean() + fake.square().mean()
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def generator_adversarial_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    """The generator's side: least squares (fake -> 1) or hinge (``-mean(fake)``)."""
    if kind == "lsgan":
        return (fake - 1).square().mean()
    return -fake.mean()


def perceptual_loss(features_enhanced: list[torch.Tensor], features_clean: list[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of the mean |difference| between a frozen network's features of the enhanced and the
    clean input (each layer weighs the same whatever its size)."""
    if len(features_enhanced) != len(features_clean) or not features_clean:
        raise ValueError("expected the same, non-empty list of feature maps for both inputs")
    return torch.stack([(a - b.detach()).abs().mean() for a, b in zip(features_enhanced, features_clean)]).mean()


def sparsity_loss(mask: torch.Tensor) -> torch.Tensor:
    """Mean |mask - 1|: the mask's departure from identity, so it changes only the bands that need it."""
    return (mask - 1).abs().mean()


def db_l1(enhanced: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """:func:`spectral_l1` in dB (for logs and reports)."""
    return spectral_l1(enhanced, clean) * DEFAULT_CONFIG.db_range
