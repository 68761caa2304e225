"""The shared spectrogram encoder: a CNN with learned-weighted positional embeddings.

Used by composition in both heads: ``inverse`` reads the pooled latent, ``specmask`` decodes the
feature pyramid into a mask.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from inverse.config import BackboneConfig
from synth.errors import InputError


def sinusoidal(positions: int, dim: int) -> torch.Tensor:
    """Transformer-style sinusoidal embedding of ``0 .. positions - 1``: ``Tensor[positions, dim]``."""
    position = torch.arange(positions, dtype=torch.float32)[:, None]
    rates = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(positions, dim)
    table[:, 0::2] = torch.sin(position * rates)
    table[:, 1::2] = torch.cos(position * rates[: dim // 2])
    return table


class ConvBlock(nn.Sequential):
    def __init__(self, channels_in: int, channels_out: int, stride: int, groups: int, kernel: int = 3):
        super().__init__(nn.Conv2d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2, bias=False),
                         nn.GroupNorm(groups, channels_out), nn.GELU())


class Stage(nn.Module):
    """Downsample by 2, then a residual 3x3 block."""

    def __init__(self, channels_in: int, channels_out: int, groups: int):
        super().__init__()
        self.down = ConvBlock(channels_in, channels_out, 2, groups)
        self.block = ConvBlock(channels_out, channels_out, 1, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        return x + self.block(x)


class Backbone(nn.Module):
    """Spectrogram encoder.

    ``forward(spec: Tensor[B, 1, F, T])`` (normalised, F = T = 512 by contract) returns
    ``(pyramid, latent)``: ``pyramid`` is a list of feature maps ``Tensor[B, widths[i], F / s_i, T / s_i]``
    at strides ``s_i = stem_stride * 2**i``, ``latent`` is ``Tensor[B, latent_dim]``.

    Frequency and time positions enter as fixed sinusoidal tables passed through a learnable fully
    connected layer each (the network learns which positional features matter), and only then are
    concatenated with the stem's feature maps: a CNN alone is translation-equivariant and cannot tell a
    note at 200 Hz from one at 2 kHz.
    """

    def __init__(self, config: BackboneConfig | None = None, bins: int = 512, frames: int = 512):
        super().__init__()
        self.config = config = config or BackboneConfig()
        stride, widths = config.stem_stride, config.widths
        if bins % (stride * 2 ** (len(widths) - 1)) or frames % (stride * 2 ** (len(widths) - 1)):
            raise InputError(f"the backbone's total stride {stride * 2 ** (len(widths) - 1)} (stem_stride x 2 per "
                             f"stage) must divide {bins} bins and {frames} frames")
        self.bins, self.frames = bins, frames
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], stride, stride=stride),
                                  nn.GroupNorm(config.groups, widths[0]), nn.GELU())
        rows, cols = bins // stride, frames // stride
        # Embeddings of the centre of each stem cell; constants, so buffers.
        self.register_buffer("freq_table", sinusoidal(bins, config.freq_embedding_dim)[stride // 2::stride])
        self.register_buffer("time_table", sinusoidal(frames, config.time_embedding_dim)[stride // 2::stride])
        self.freq_weighting = nn.Linear(config.freq_embedding_dim, config.position_channels)
        self.time_weighting = nn.Linear(config.time_embedding_dim, config.position_channels)
        # 1x1: mixing positions into features needs no spatial context, and 3x3 here would be the costliest layer.
        self.mix = ConvBlock(widths[0] + 2 * config.position_channels, widths[0], 1, config.groups, kernel=1)
        self.stages = nn.ModuleList(Stage(a, b, config.groups) for a, b in zip(widths[:-1], widths[1:]))
        self.to_latent = nn.Sequential(nn.Linear(2 * widths[-1], config.latent_dim), nn.LayerNorm(config.latent_dim))
        assert self.freq_table.shape[0] == rows and self.time_table.shape[0] == cols

    def positions(self, batch: int) -> torch.Tensor:
        """Learned-weighted positional maps ``Tensor[B, 2 * position_channels, F / stride, T / stride]``."""
        freq = self.freq_weighting(self.freq_table)  # (rows, C)
        time = self.time_weighting(self.time_table)  # (cols, C)
        rows, cols = freq.shape[0], time.shape[0]
        freq_map = freq.T[:, :, None].expand(-1, rows, cols)
        time_map = time.T[:, None, :].expand(-1, rows, cols)
        return torch.cat([freq_map, time_map])[None].expand(batch, -1, -1, -1)

    def forward(self, spec: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        if spec.ndim != 4 or spec.shape[1:] != (1, self.bins, self.frames):
            raise ValueError(f"expected spectrograms of shape (B, 1, {self.bins}, {self.frames}), "
                             f"got {tuple(spec.shape)}")
        x = self.stem(spec)
        x = self.mix(torch.cat([x, self.positions(x.shape[0]).to(x.dtype)], dim=1))
        pyramid = [x]
        for stage in self.stages:
            x = stage(x)
            pyramid.append(x)
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return pyramid, self.to_latent(pooled)
