"""Patch discriminator: is this spectrogram the clean source, given the mixture it came from?

Input: a normalised spectrogram (clean or enhanced) and the mixture's, stacked as 2 channels
``Tensor[B, 2, 512, 512]``. A 4x4 stride-4 patchify convolution, then stride-2 4x4 convolutions, all with
spectral normalisation (a stable GAN without batch statistics) and LeakyReLU; output: one logit per patch
``Tensor[B, 1, 512 / 2**(n + 1), 512 / 2**(n + 1)]`` for ``n`` widths. (Stride 4 first: convolutions at
512x512 cost more than the rest of a training step on the CPU.)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from specmask.config import DiscriminatorConfig


class PatchDiscriminator(nn.Module):
    def __init__(self, config: DiscriminatorConfig | None = None):
        super().__init__()
        self.config = config = config or DiscriminatorConfig()
        layers: list[nn.Module] = []
        channels = 2
        for i, width in enumerate(config.widths):
            conv = nn.Conv2d(channels, width, 4, stride=4) if i == 0 else nn.Conv2d(channels, width, 4, stride=2,
                                                                                     padding=1)
            layers += [spectral_norm(conv), nn.LeakyReLU(0.2)]
            channels = width
        layers.append(spectral_norm(nn.Conv2d(channels, 1, 3, padding=1)))
        self.net = nn.Sequential(*layers)

    def forward(self, spec: torch.Tensor, mixture: torch.Tensor) -> torch.Tensor:
        """``spec``, ``mixture``: ``Tensor[B, 1, F, T]`` normalised -> patch logits ``Tensor[B, 1, F', T']``."""
        if spec.shape != mixture.shape or spec.ndim != 4 or spec.shape[1] != 1:
            raise ValueError(f"expected two (B, 1, F, T) spectrograms of one shape, got {tuple(spec.shape)} and "
                             f"{tuple(mixture.shape)}")
        return self.net(torch.cat([spec, mixture], dim=1))
