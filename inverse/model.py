"""The inverse model: shared backbone + regression head, by composition."""

from __future__ import annotations

import torch
from torch import nn

from inverse.backbone import Backbone
from inverse.config import ModelConfig
from inverse.head import ParamHead


class InverseModel(nn.Module):
    """Spectrogram ``Tensor[B, 1, 512, 512]`` (normalised) -> raw head outputs and the latent.

    ``latent_scale`` (a buffer, saved with the weights) is the per-dimension spread of the latent over
    training data; latent sampling perturbs in units of it.
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config = config or ModelConfig()
        self.backbone = Backbone(config.backbone)
        self.head = ParamHead(config.backbone.latent_dim, config.head)
        self.register_buffer("latent_scale", torch.ones(config.backbone.latent_dim))

    def encode(self, spec: torch.Tensor) -> torch.Tensor:
        """``Tensor[B, 1, 512, 512]`` -> latent ``Tensor[B, latent_dim]``."""
        return self.backbone(spec)[1]

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent -> normalised parameters ``Tensor[B, 100]``."""
        return self.head.to_params(self.head(latent))

    def forward(self, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (raw head outputs ``Tensor[B, NUM_OUTPUTS]``, latent ``Tensor[B, latent_dim]``)."""
        latent = self.encode(spec)
        return self.head(latent), latent


def latent_spread(latents: torch.Tensor) -> torch.Tensor:
    """Per-dimension standard deviation of ``Tensor[N, latent_dim]`` latents (floored at 1e-4; ones for a single
    row): what :attr:`InverseModel.latent_scale` holds, latent sampling's unit."""
    if latents.shape[0] < 2:
        return torch.ones(latents.shape[1], device=latents.device)
    return latents.std(dim=0, unbiased=False).clamp(min=1e-4)
