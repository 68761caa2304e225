"""Latent sampling: many candidate parameter sets for one target, best and mutually different first.

The target's latent is perturbed with Gaussian noise scaled by the spread of training latents
(``model.latent_scale``, times ``sigma``); every perturbed latent is decoded, and all candidates (plus the
unperturbed point estimate), and with a retrieval index (:mod:`inverse.retrieval`) the ``retrieved`` training
patches nearest to the target, are rendered in one batch and scored against the target's *sound*
(:func:`inverse.target.score`: :func:`synth.perceptual.match_distance`, which penalises a wrong pitch far more
than a different tail; ``distance_db`` is reported beside it). The best ``expand`` candidates are then
expanded by the synth's symmetries (:func:`synth.symmetry.equivalents`: other slot orders, octave offsets
written as semitones, the note moved against the oscillators, inaudible parameters redrawn); those variants
are rendered and kept where they still match (within ``keep_tolerance`` of their source), which gives
different parameter sets for one sound by construction. Finally a greedy pass returns the best candidate and,
in order of distance, each next one that is at least ``min_distance`` away (mean absolute difference of
normalised parameters) from all already chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from inverse.flow import FlowNet
from inverse.model import InverseModel
from inverse.retrieval import RetrievalIndex
from inverse.target import Scores, Target, as_target, score
from synth.symmetry import equivalents


@dataclass(frozen=True)
class SamplingConfig:
    pool: int = 64  # model candidates rendered and scored per target (including the point estimate)
    retrieved: int = 64  # nearest training patches added to the pool when an index is given (0: none)
    samples: int = 10  # candidates returned
    sigma: float = 2.0  # latent noise in training-latent spreads (2 did best on validation: pretrained/RECIPE.md)
    # minimum mean |difference| of normalised parameters between returned ones. 0.1: on 16 held-out targets with
    # predict's default pipeline, diversity 0.285 (0.05: 0.234; retrieval 0.291) at the same best and median MSS
    min_distance: float = 0.1
    seed: int = 0  # noise seed: same seed, same candidates
    expand: int = 3  # best candidates expanded by the synth's symmetries (0: off)
    keep_tolerance: float = 0.05  # a variant is kept if its match distance is at most its source's + this

    def validate(self) -> None:
        if self.pool < 1 or self.samples < 1:
            raise ValueError(f"pool and samples must be >= 1, got pool={self.pool}, samples={self.samples}")
        if self.samples > self.pool:
            raise ValueError(f"cannot return {self.samples} samples from a pool of {self.pool}")
        if self.retrieved < 0:
            raise ValueError(f"retrieved must be non-negative, got {self.retrieved}")
        if self.sigma < 0 or self.min_distance < 0 or self.expand < 0 or self.keep_tolerance < 0:
            raise ValueError("sigma, min_distance, expand and keep_tolerance must be non-negative")


@dataclass
class Candidates:
    """Returned candidates, best first. ``params``: ``Tensor[K, 100]`` normalised; ``scores``: their
    :class:`~inverse.target.Scores` (match and MSS distances, ``distance_db``, audio, spectrograms);
    ``pool_index``: their rows in the scored pool; ``diverse``: whether all K met the distance threshold
    (False when the pool had too few different candidates); ``point``: the unperturbed decode ``Tensor[100]``
    (pool row 0), whether or not it was returned."""

    params: torch.Tensor
    scores: Scores
    pool_index: torch.Tensor
    diverse: bool
    point: torch.Tensor

    @property
    def match(self) -> torch.Tensor:
        return self.scores.match

    @property
    def mss(self) -> torch.Tensor:
        return self.scores.mss

    @property
    def distance_db(self) -> torch.Tensor:
        return self.scores.distance_db

    @property
    def audio(self) -> torch.Tensor:
        return self.scores.audio

    @property
    def spectrogram(self) -> torch.Tensor:
        return self.scores.spectrogram


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


def expand_by_symmetry(params: torch.Tensor, scores: Scores, target: Target, config: SamplingConfig,
                       render_path: str = "auto") -> tuple[torch.Tensor, Scores]:
    """The pool plus the symmetric variants of its best ``config.expand`` rows that still match: variants are
    rendered and kept where their match distance is at most their source's + ``keep_tolerance``."""
    if config.expand == 0:
        return params, scores
    generator = torch.Generator().manual_seed(config.seed)
    best = torch.argsort(scores.match, stable=True)[:config.expand].tolist()
    found = [(equivalents(params[i], generator), i) for i in best]
    variants = torch.cat([v for v, _ in found])
    if variants.shape[0] == 0:
        return params, scores
    source = torch.cat([torch.full((v.shape[0],), i) for v, i in found])
    judged = score(variants, target, render_path=render_path)
    keep = judged.match <= scores.match[source] + config.keep_tolerance
    return torch.cat([params, variants[keep]]), Scores.cat([scores, judged.select(keep.nonzero()[:, 0])])


def choose(params: torch.Tensor, scores: Scores, config: SamplingConfig, point: torch.Tensor) -> Candidates:
    """The best ``config.samples`` mutually different rows of a scored pool, as :class:`Candidates`."""
    chosen, diverse = select_diverse(params, scores.match, config.samples, config.min_distance)
    index = torch.tensor(chosen)
    return Candidates(params[index], scores.select(index), index, diverse, point)


@torch.no_grad()
def flow_params(model: InverseModel, flow: FlowNet, target: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """The pool drawn from the flow sampler: row 0 the regression head's point estimate (for reference),
    then ``pool - 1`` flow samples conditioned on the target's latent: ``Tensor[pool, 100]``."""
    device = next(model.parameters()).device
    latent = model.encode(target.to(device)[None, None])
    drawn = flow.to(device).sample(latent[0], config.pool - 1, seed=config.seed)
    return torch.cat([model.decode(latent).cpu(), drawn])


def sample(model: InverseModel, target: Target | torch.Tensor, config: SamplingConfig | None = None,
           render_path: str = "auto", flow: FlowNet | None = None, index: RetrievalIndex | None = None
           ) -> Candidates:
    """Candidates for one target (a :class:`~inverse.target.Target` or a normalised spectrogram
    ``Tensor[512, 512]``; see the module docstring). With ``flow`` the model's pool comes from the flow-matching
    sampler (:mod:`inverse.flow`) instead of perturbed latents; with ``index`` its ``config.retrieved`` rows
    nearest to the target join the pool. ``render_path``: how candidates are rendered (:func:`synth.render`)."""
    config = config or SamplingConfig()
    config.validate()
    target = as_target(target)
    if flow is not None:
        params = flow_params(model.eval(), flow, target.spectrogram, config)
    else:
        params = perturbed_params(model.eval(), target.spectrogram, config)
    if index is not None and config.retrieved:
        params = torch.cat([params, index.query(target.spectrogram, config.retrieved)])
    scores = score(params, target, render_path=render_path)
    pool, pool_scores = expand_by_symmetry(params, scores, target, config, render_path)
    return choose(pool, pool_scores, config, params[0])
