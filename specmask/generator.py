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

A model trained with sound classes (``GeneratorConfig.classes``) takes a cue per example: which class to keep
(0 = any). Without it, a mixture of two sources of the pool (a voice over a synth note) gives no hint which
one is the noise, and a model trained on such mixtures kept both (README). The cue scales and shifts the
decoder's features at every level (FiLM: ``x * (1 + gamma) + beta``, one learned pair per class and level,
zero at the start, so an untrained cue changes nothing).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from inverse.backbone import Backbone, ConvBlock
from specmask.config import GeneratorConfig
from synth.errors import InputError


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
        # FiLM per cue (row 0: any) and level: (gamma, beta) for the top map and after each smoothing block
        self.film = nn.Embedding(1 + len(config.classes), 2 * width * len(pyramid_widths)) if config.classes else None
        if self.film is not None:
            nn.init.zeros_(self.film.weight)

    def forward(self, pyramid: list[torch.Tensor], spec: torch.Tensor, cue: torch.Tensor | None = None
                ) -> torch.Tensor:
        """``cue``: ``LongTensor[B]`` of class indices (:meth:`GeneratorConfig.cue`; ``None``: 0, any)."""
        films = self._films(cue, spec.shape[0], spec.device)
        x = self._modulate(self.lateral[-1](pyramid[-1]), films, 0)
        for level in range(len(pyramid) - 2, -1, -1):
            x = F.interpolate(x, size=pyramid[level].shape[-2:], mode="nearest") + self.lateral[level](pyramid[level])
            x = self._modulate(self.smooth[level](x), films, len(pyramid) - 1 - level)
        patches = F.pixel_unshuffle(spec.to(x.dtype), self.stride)  # (B, s*s, F/s, T/s)
        logits = F.pixel_shuffle(self.subpixel(torch.cat([x, patches], dim=1)), self.stride)
        return self.config.mask_max * torch.sigmoid(logits + self.identity_logit)

    def _films(self, cue: torch.Tensor | None, batch: int, device: torch.device) -> torch.Tensor | None:
        """``Tensor[B, levels, 2, width]`` of (gamma, beta), or ``None`` for a model without classes."""
        if self.film is None:
            if cue is not None and bool((cue != 0).any()):
                raise InputError("this mask model was trained without sound classes: it takes no class to keep")
            return None
        if cue is None:
            cue = torch.zeros(batch, dtype=torch.long, device=device)
        if cue.shape != (batch,) or bool(((cue < 0) | (cue >= self.film.num_embeddings)).any()):
            raise InputError(f"expected one cue per example in 0..{self.film.num_embeddings - 1}, got {cue.tolist()}")
        return self.film(cue.to(device)).view(batch, -1, 2, self.config.decoder_width)

    @staticmethod
    def _modulate(x: torch.Tensor, films: torch.Tensor | None, level: int) -> torch.Tensor:
        if films is None:
            return x
        gamma, beta = films[:, level, 0, :, None, None], films[:, level, 1, :, None, None]
        return x * (1.0 + gamma) + beta


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

    def forward(self, spec: torch.Tensor, cue: torch.Tensor | None = None) -> torch.Tensor:
        """``cue``: which class to keep per example, ``LongTensor[B]`` (see :class:`MaskDecoder`)."""
        pyramid, _ = self.backbone(spec)
        return self.decoder(pyramid, spec, cue)


def _groups(channels: int, wanted: int) -> int:
    """The largest group count <= ``wanted`` that divides ``channels`` (GroupNorm needs a divisor)."""
    return max(g for g in range(1, wanted + 1) if channels % g == 0)
