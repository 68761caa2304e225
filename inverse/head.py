"""Regression head: pooled latent -> the synth's 100 parameters.

Continuous parameters come out through a sigmoid (bounded to [0, 1]); a discrete parameter with N
choices gets N logits. Loss: L1 on the continuous values + cross-entropy on the discrete ones.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inverse.config import HeadConfig
from synth.params import CONTINUOUS_INDICES, DISCRETE_INDICES, NUM_PARAMS, PARAM_SPECS, discrete_index

DISCRETE_CHOICES: tuple[int, ...] = tuple(PARAM_SPECS[i].choices for i in DISCRETE_INDICES)
NUM_OUTPUTS = len(CONTINUOUS_INDICES) + sum(DISCRETE_CHOICES)


class ParamHead(nn.Module):
    """``forward(latent: Tensor[B, L]) -> Tensor[B, NUM_OUTPUTS]`` raw outputs (pre-sigmoid / logits)."""

    def __init__(self, latent_dim: int, config: HeadConfig | None = None):
        super().__init__()
        config = config or HeadConfig()
        self.net = nn.Sequential(nn.Linear(latent_dim, config.hidden), nn.GELU(), nn.Dropout(config.dropout),
                                 nn.Linear(config.hidden, NUM_OUTPUTS))
        self.register_buffer("continuous_index", torch.tensor(CONTINUOUS_INDICES), persistent=False)
        self.register_buffer("discrete_index", torch.tensor(DISCRETE_INDICES), persistent=False)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.net(latent)

    @staticmethod
    def split(raw: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Raw outputs -> (continuous pre-sigmoid ``Tensor[B, C]``, one ``Tensor[B, N_i]`` of logits per
        discrete parameter)."""
        n = len(CONTINUOUS_INDICES)
        return raw[:, :n], list(raw[:, n:].split(DISCRETE_CHOICES, dim=1))

    def to_params(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw outputs -> normalised parameters ``Tensor[B, 100]``.

        Continuous values keep their gradient (sigmoid), so the spectral loss can render them through the
        synth; discrete ones are the centre of the arg-max bin, constants (their gradient comes from the
        cross-entropy).
        """
        continuous, logits = self.split(raw)
        columns: list[torch.Tensor | None] = [None] * NUM_PARAMS
        for position, index in enumerate(CONTINUOUS_INDICES):
            columns[index] = torch.sigmoid(continuous[:, position])
        for position, (index, lg) in enumerate(zip(DISCRETE_INDICES, logits)):
            columns[index] = ((lg.argmax(dim=1).to(raw.dtype) + 0.5) / DISCRETE_CHOICES[position]).detach()
        return torch.stack(columns, dim=1)

    def discrete_correct(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per row, the share of discrete parameters whose arg-max choice is the target's: ``Tensor[B]``."""
        _, logits = self.split(raw)
        return torch.stack([(lg.argmax(1) == discrete_index(target[:, i], lg.shape[1])).float()
                            for i, lg in zip(DISCRETE_INDICES, logits)]).mean(0)

    def loss(self, raw: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"param/l1": mean L1 over continuous parameters, "param/ce": mean cross-entropy over
        discrete ones}`` against normalised targets ``Tensor[B, 100]``."""
        continuous, logits = self.split(raw)
        l1 = (torch.sigmoid(continuous) - target[:, self.continuous_index]).abs().mean()
        ce = torch.stack([F.cross_entropy(lg, discrete_index(target[:, i], n))
                          for i, n, lg in zip(DISCRETE_INDICES, DISCRETE_CHOICES, logits)]).mean()
        return {"param/l1": l1, "param/ce": ce}
