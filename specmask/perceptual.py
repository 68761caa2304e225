"""Frozen networks whose features define the perceptual loss: ``network(spec, audio) -> list[Tensor]``.

- ``backbone`` (default): a frozen copy of the trained inverse backbone, a pretrained model of timbre; its
  feature pyramid of the normalised spectrogram ``Tensor[B, 1, 512, 512]``.
- ``vggish``: a VGGish-architecture network with official converted weights from a safetensors file the
  user supplies (:mod:`specmask.vggish`; never downloaded, never unpickled); its pooled feature maps of the
  16 kHz audio ``Tensor[B, 65408]``.

Weights are frozen (``requires_grad_(False)``, eval mode); gradients still reach the input.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from inverse.backbone import Backbone
from synth.errors import InputError

NETWORKS = ("backbone", "vggish")


class BackboneFeatures(nn.Module):
    def __init__(self, backbone: Backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, spec: torch.Tensor, audio: torch.Tensor) -> list[torch.Tensor]:
        return self.backbone(spec)[0]


class VGGishFeatures(nn.Module):
    def __init__(self, vggish: nn.Module):
        super().__init__()
        self.vggish = vggish

    def forward(self, spec: torch.Tensor, audio: torch.Tensor) -> list[torch.Tensor]:
        return self.vggish.feature_maps(audio)


def build_perceptual(kind: str, backbone: Backbone, vggish_weights: str | None = None,
                     share: bool = False) -> nn.Module:
    """The frozen perceptual network. ``share`` uses ``backbone`` itself (already frozen) instead of a copy."""
    if kind == "backbone":
        frozen = backbone if share else copy.deepcopy(backbone)
        network: nn.Module = BackboneFeatures(frozen)
    elif kind == "vggish":
        if not vggish_weights:
            raise InputError("--perceptual vggish needs --vggish-weights FILE.safetensors (converted official "
                             "VGGish weights; see specmask/vggish.py)")
        from specmask.vggish import load_vggish

        network = VGGishFeatures(load_vggish(vggish_weights))
    else:
        raise InputError(f"unknown perceptual network {kind!r}; expected one of {', '.join(NETWORKS)}")
    return network.requires_grad_(False).eval()
