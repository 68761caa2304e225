"""The mask generator: the shared backbone's feature pyramid -> a time-frequency mask.

A top-down decoder (feature-pyramid style: upsample x2, add a 1x1 lateral projection of the backbone's
map at that stride, smooth with a 3x3 block) runs from the coarsest map to stride ``stem_stride``; a
small full-resolution stage then sees the upsampled features *and* the input spectrogram itself (the
backbone's 8x8 stem cannot place a mask edge to the bin), and ends in a sigmoid scaled to
``[0, mask_max]``. With ``identity_init`` the last bias starts the mask at ~1 everywhere, the sparsity
prior's optimum, so training starts from "change nothing".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from inverse.backbone import Backbone, ConvBlock
from specmask.config import GeneratorConfig


class MaskDecoder(nn.Module):
    """``forward(pyramid, spec) -> mask``: pyramid as returned by :class:`Backbone` (strides ``s, 2s, ...``),
    ``spec`` the normalised input ``Tensor[B, 1, F, T]``; returns ``Tensor[B, 1, F, T]`` in ``[0, mask_max]``."""

    def __init__(self, pyramid_widths: tuple[int, ...], config: GeneratorConfig, groups: int):
        super().__init__()
        self.config = config
        width = config.decoder_width
        self.lateral = nn.ModuleList(nn.Conv2d(w, width, 1) for w in pyramid_widths)
        self.smooth = nn.ModuleList(ConvBlock(width, width, 1, _groups(width, groups))
                                    for _ in pyramid_widths[:-1])
        self.to_full = nn.Conv2d(width, config.full_res_channels, 1)
        channels = config.full_res_channels
        self.full = nn.Sequential(nn.Conv2d(channels + 1, channels, 3, padding=1), nn.GELU(),
                                  nn.Conv2d(channels, 1, 3, padding=1))
        # Logit offset at which the mask is 1: sigmoid(offset) * mask_max = 1 (capped for mask_max = 1).
        offset = 4.0 if config.mask_max == 1.0 else -math.log(config.mask_max - 1.0)
        self.register_buffer("identity_logit", torch.tensor(offset if config.identity_init else 0.0))
        if config.identity_init:
            nn.init.zeros_(self.full[-1].weight)
            nn.init.zeros_(self.full[-1].bias)

    def forward(self, pyramid: list[torch.Tensor], spec: torch.Tensor) -> torch.Tensor:
        x = self.lateral[-1](pyramid[-1])
        for level in range(len(pyramid) - 2, -1, -1):
            x = F.interpolate(x, size=pyramid[level].shape[-2:], mode="nearest") + self.lateral[level](pyramid[level])
            x = self.smooth[level](x)
        x = F.interpolate(self.to_full(x), size=spec.shape[-2:], mode="bilinear", align_corners=False)
        logits = self.full(torch.cat([x, spec.to(x.dtype)], dim=1))
        return self.config.mask_max * torch.sigmoid(logits + self.identity_logit)


class MaskGenerator(nn.Module):
    """Backbone + :class:`MaskDecoder`, by composition: ``forward(spec: Tensor[B, 1, 512, 512]) -> mask``.

    ``spec`` is the mixture's normalised spectrogram; the mask multiplies the mixture's STFT magnitude.
    """

    def __init__(self, backbone: Backbone, config: GeneratorConfig | None = None):
        super().__init__()
        self.config = config = config or GeneratorConfig()
        self.backbone = backbone
        self.decoder = MaskDecoder(backbone.config.widths, config, backbone.config.groups)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        pyramid, _ = self.backbone(spec)
        return self.decoder(pyramid, spec)


def _groups(channels: int, wanted: int) -> int:
    """The largest group count <= ``wanted`` that divides ``channels`` (GroupNorm needs a divisor)."""
    return max(g for g in range(1, wanted + 1) if channels % g == 0)
