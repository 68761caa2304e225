"""Latent sampling: many candidate parameter sets for one target, best and mutually different first.

The target's latent is perturbed with Gaussian noise scaled by the spread of training latents
(``model.latent_scale``, times ``sigma``); every perturbed latent is decoded, all candidates (plus the
unperturbed point estimate) are rendered in one batch and scored by spectral distance in dB; then a
greedy pass returns the best candidate and, in order of distance, each next one that is at least
``min_distance`` away (mean absolute difference of normalised parameters) from all already chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from inverse.model import InverseModel
from synth.spectrogram import distance_db, normalized_to_db, spectrogram
from synth.voice import render


@dataclass(frozen=True)
class SamplingConfig:
    pool: int = 64  # candidates rendered and scored per target (including the point estimate)
    samples: int = 10  # candidates returned
    sigma: float = 2.0  # latent noise in training-latent spreads (2 did best on validation: pretrained/RECIPE.md)
    min_distance: float = 0.05  # minimum mean |difference| of normalised parameters between returned ones
    seed: int = 0  # noise seed: same seed, same candidates

    def validate(self) -> None:
        if self.pool < 1 or self.samples < 1:
            raise ValueError(f"pool and samples must be >= 1, got pool={self.pool}, samples={self.samples}")
        if self.samples > self.pool:
            raise ValueError(f"cannot return {self.samples} samples from a pool of {self.pool}")
        if self.sigma < 0 or self.min_distance < 0:
            raise ValueError("sigma and min_distance must be non-negative")


@dataclass
class Candidates:
    """Returned candidates, best first. params: ``Tensor[K, 100]`` normalised; distance_db: ``Tensor[K]``;
    audio: ``Tensor[K, 65408]``; spectrogram: ``Tensor[K, 512, 512]`` normalised; ``diverse``: whether all
    K met the distance threshold (False when the pool had too few different candidates); ``point``: the
    unperturbed decode ``Tensor[100]`` (pool row 0), whether or not it was returned."""

    params: torch.Tensor
    distance_db: torch.Tensor
    audio: torch.Tensor
    spectrogram: torch.Tensor
    pool_index: torch.Tensor
    diverse: bool
    point: torch.Tensor


def select_diverse(params: torch.Tensor, distances: torch.Tensor, count: int, min_distance: float
                   ) -> tuple[list[int], bool]:
    """Greedy best-first selection of ``count`` rows no two closer than ``min_distance`` (mean |diff|).

    Returns the chosen row indices (best first) and whether the threshold could be met for all; if not,
    the remaining places are filled with the best unchosen rows.
    """
    order = torch.argsort(distances, stable=True).tolist()
    chosen: list[int] = []
    for i in order:
        if len(chosen) == count:
            break
        if all(float((params[i] - params[j]).abs().mean()) >= min_distance for j in chosen):
            chosen.append(i)
    diverse = len(chosen) == count
    for i in order:
        if len(chosen) == count:
            break
        if i not in chosen:
            chosen.append(i)
    return chosen, diverse


@torch.no_grad()
def perturbed_params(model: InverseModel, target: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """Decode the point estimate and ``pool - 1`` perturbed latents: ``Tensor[pool, 100]``.

    target: normalised spectrogram ``Tensor[512, 512]``.
    """
    device = next(model.parameters()).device
    latent = model.encode(target.to(device)[None, None])
    noise = torch.randn(config.pool - 1, latent.shape[1], generator=torch.Generator().manual_seed(config.seed))
    latents = torch.cat([latent, latent + config.sigma * model.latent_scale * noise.to(device)])
    return model.decode(latents).cpu()


@torch.no_grad()
def score(params: torch.Tensor, target: torch.Tensor, batch: int = 64, compiled: bool = False
          ) -> tuple[torch.Tensor, ...]:
    """Render ``params`` ``Tensor[P, 100]`` and compare with the normalised target ``Tensor[512, 512]``.

    Returns (distance in dB ``Tensor[P]``, audio ``Tensor[P, N]``, normalised spectrograms ``Tensor[P, 512, 512]``).
    ``compiled`` renders through ``torch.compile`` (see :func:`synth.voice.render`): faster for long runs
    such as benchmarks, after a compilation that costs more than one prediction.
    """
    audio = torch.cat([render(chunk, compiled=compiled) for chunk in params.split(batch)])
    specs = torch.cat([spectrogram(chunk) for chunk in audio.split(batch)])
    distances = distance_db(normalized_to_db(specs), normalized_to_db(target)[None])
    return distances, audio, specs


def sample(model: InverseModel, target: torch.Tensor, config: SamplingConfig | None = None,
           compiled: bool = False) -> Candidates:
    """Candidates for one normalised target spectrogram ``Tensor[512, 512]`` (see the module docstring)."""
    config = config or SamplingConfig()
    config.validate()
    params = perturbed_params(model.eval(), target, config)
    distances, audio, specs = score(params, target, compiled=compiled)
    chosen, diverse = select_diverse(params, distances, config.samples, config.min_distance)
    index = torch.tensor(chosen)
    return Candidates(params[index], distances[index], audio[index], specs[index], index, diverse, params[0])
