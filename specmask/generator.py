"""The mask generator: the shared backbone's feature pyramid -> a time-frequency mask.

A top-down decoder (feature-pyramid style: upsample x2, add a 1x1 lateral projection of the backbone's
map at that stride, smooth with a 3x3 block) runs from the coarsest map to stride ``s = stem_stride``.
A sub-pixel stage then places the mask to the bin: the input spectrogram, rearranged so that each s x s
patch becomes ``s**2`` channels (pixel unshuffle), is concatenated with the decoder's features, two 3x3
convolutions at stride ``s`` predict ``s**2`` logits per patch, and a pixel shuffle puts them back at full
resolution. Every output bin sees its own patch's input values and its neighbours', at a fraction of the
cost of convolutions at 512x512 (whose backward pass dominated a training step on the CPU). A sigmoid
scaled to ``[0, mask_max]`` ends it. With ``identity_init`` the last layer starts at zero and a buffer
offset puts the mask at ~1 everywhere, the sparsity prior's optimum, so training starts from "change
nothing".
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

    def __init__(self, pyramid_widths: tuple[int, ...], stride: int, config: GeneratorConfig, groups: int):
        super().__init__()
        self.config, self.stride = config, stride
        width, hidden, cells = config.decoder_width, config.subpixel_channels, stride * stride
        self.lateral = nn.ModuleList(nn.Conv2d(w, width, 1) for w in pyramid_widths)
        self.smooth = nn.ModuleList(ConvBlock(width, width, 1, _groups(width, groups))
                                    for _ in pyramid_widths[:-1])
        self.subpixel = nn.Sequential(nn.Conv2d(width + cells, hidden, 3, padding=1), nn.GELU(),
                                      nn.Conv2d(hidden, hidden, 3, padding=1), nn.GELU(),
                                      nn.Conv2d(hidden, cells, 1))
        # Logit offset at which the mask is 1: sigmoid(offset) * mask_max = 1 (capped for mask_max = 1).
        offset = 4.0 if config.mask_max == 1.0 else -math.log(config.mask_max - 1.0)
        self.register_buffer("identity_logit", torch.tensor(offset if config.identity_init else 0.0))
        if config.identity_init:
            nn.init.zeros_(self.subpixel[-1].weight)
            nn.init.zeros_(self.subpixel[-1].bias)

    def forward(self, pyramid: list[torch.Tensor], spec: torch.Tensor) -> torch.Tensor:
        x = self.lateral[-1](pyramid[-1])
        for level in range(len(pyramid) - 2, -1, -1):
            x = F.interpolate(x, size=pyramid[level].shape[-2:], mode="nearest") + self.lateral[level](pyramid[level])
            x = self.smooth[level](x)
        patches = F.pixel_unshuffle(spec.to(x.dtype), self.stride)  # (B, s*s, F/s, T/s)
        logits = F.pixel_shuffle(self.subpixel(torch.cat([x, patches], dim=1)), self.stride)
        return self.config.mask_max * torch.sigmoid(logits + self.identity_logit)


class MaskGenerator(nn.Module):
    """Backbone + :class:`MaskDecoder`, by composition: ``forward(spec: Tensor[B, 1, 512, 512]) -> mask``.

    ``spec`` is the mixture's normalised spectrogram; the mask multiplies the mixture's STFT magnitude.
    """

    def __init__(self, backbone: Backbone, config: GeneratorConfig | None = None):
        super().__init__()
        self.config = config = config or GeneratorConfig()
        self.backbone = backbone
        self.decoder = MaskDecoder(backbone.config.widths, backbone.config.stem_stride, config,
                                   backbone.config.groups)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        pyramid, _ = self.backbone(spec)
        return self.decoder(pyramid, spec)


def _groups(channels: int, wanted: int) -> int:
    """The largest group count <= ``wanted`` that divides ``channels`` (GroupNorm needs a divisor)."""
    return max(g for g in range(1, wanted + 1) if channels % g == 0)
