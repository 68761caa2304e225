"""Search-only baseline (no network): random search from the prior, or CMA-ES (:mod:`inverse.cma`) over
all 100 parameters from the centre of the cube.

The classical answer to sound matching, which users compare the network against: render ``budget``
parameter sets (or as many as fit in ``time_budget_s``), score them all against the target and return
the best ``samples`` mutually different ones, like latent sampling does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from inverse.sampling import Candidates, select_diverse
from inverse.target import Target, as_target, score
from synth.fast_render import RENDER_PATHS
from synth.fast_render import resolve as resolve_render_path
from synth.params import NUM_PARAMS, canonicalize
from synth.prior import draw

SEARCH_METHODS = ("cmaes", "random")


@dataclass(frozen=True)
class SearchConfig:
    method: str = "cmaes"  # cmaes | random
    budget: int = 256  # renders
    time_budget_s: float | None = None  # stop early after this many seconds (after a whole batch)
    samples: int = 10  # candidates returned
    min_distance: float = 0.05  # minimum mean |difference| of normalised parameters between returned ones
    sigma0: float = 0.3  # cmaes: initial step size (normalised units), from the centre of the cube
    batch: int = 32  # random: renders per batch (cmaes renders one generation, 17 points, per batch)
    seed: int = 0
    render: str = "auto"  # synth.render's path: auto (fast when built on this machine), fast, eager

    def validate(self) -> None:
        if self.method not in SEARCH_METHODS:
            raise ValueError(f"unknown search method {self.method!r}; expected one of {', '.join(SEARCH_METHODS)}")
        if self.budget < 1:
            raise ValueError(f"the budget must be at least 1 render, got {self.budget}")
        if self.samples < 1 or self.samples > self.budget:
            raise ValueError(f"samples must be between 1 and the budget ({self.budget}), got {self.samples}")
        if self.time_budget_s is not None and self.time_budget_s <= 0:
            raise ValueError(f"the time budget must be positive, got {self.time_budget_s}")
        if self.render not in RENDER_PATHS:
            raise ValueError(f"unknown render path {self.render!r}; expected one of {', '.join(RENDER_PATHS)}")


def search(target: Target | torch.Tensor, config: SearchConfig | None = None, progress: bool = False,
           stop: Callable[[], bool] | None = None) -> Candidates:
    """Search for parameters matching the target (a :class:`~inverse.target.Target` or a normalised spectrogram
    ``Tensor[512, 512]``), ranked by the match distance; see the module docstring.

    Returns :class:`Candidates` best first (``point`` is the best found: there is no network estimate). ``stop()``
    true (Ctrl-C in the command line, :mod:`inverse.finish_early`) ends the search after the batch or generation
    under way, like the time budget; the answer is chosen from what was rendered.
    """
    from inverse.cma import cma_minimize  # scipy.stats: 1.3 s to import, so only when CMA-ES runs

    config = config or SearchConfig()
    config.validate()
    target = as_target(target)
    path = resolve_render_path(config.render)
    deadline = None if config.time_budget_s is None else time.perf_counter() + config.time_budget_s
    bar = tqdm(total=config.budget, desc=f"search ({config.method})", unit="render", disable=not progress)
    seen_params, seen_distances = [], []

    def evaluate(params: torch.Tensor) -> torch.Tensor:
        distances = score(params, target, render_path=path).match
        seen_params.append(params)
        seen_distances.append(distances)
        bar.update(params.shape[0])
        return distances

    if config.method == "random":
        spent = 0
        while spent < config.budget and (spent == 0 or (deadline is None or time.perf_counter() < deadline) and not (
                stop is not None and stop())):
            count = min(config.batch, config.budget - spent)
            evaluate(draw(config.seed, spent, count))
            spent += count
    else:  # CMA-ES over the relaxed cube; discrete values snap to their bins when rendered
        cma_minimize(np.full(NUM_PARAMS, 0.5), config.sigma0,
                     lambda points: evaluate(canonicalize(torch.from_numpy(points).float())).numpy(),
                     config.budget, config.seed, deadline, min_generations=1, stop=stop)
    bar.close()
    params, distances = torch.cat(seen_params), torch.cat(seen_distances)
    chosen, diverse = select_diverse(params, distances, min(config.samples, params.shape[0]), config.min_distance)
    index = torch.tensor(chosen)
    return Candidates(params[index], score(params[index], target, render_path=path), index, diverse, params[index[0]])

