"""CMA-ES in the unit cube, one generation rendered per batch: the engine of ``--refine cmaes`` and
``inverse search --method cmaes``.

This drives the ``cmaes`` package directly, the library optuna's ``CmaEsSampler`` runs on: optuna 4.9
deprecated the sampler's ``x0``/``sigma0`` (the warm start these callers need), and its ask/tell loop
cannot sample a generation's trials as CMA-ES before the first trial has been told (they fall back to
random sampling), which would waste the first, batched generation.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from cmaes import CMA


def cma_minimize(mean: np.ndarray, sigma: float, evaluate: Callable[[np.ndarray], np.ndarray], budget: int,
                 seed: int, deadline: float | None = None, min_generations: int = 0,
                 stop: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``evaluate`` over ``[0, 1]^D`` starting from ``mean`` ``float[D]`` with step ``sigma``.

    ``evaluate(points: float[n, D]) -> float[n]`` is called once per generation (CMA-ES's default
    population; the last generation is cut to what is left of ``budget`` evaluations). Stops at the
    budget, when ``time.perf_counter()`` passes ``deadline`` or when ``stop()`` is true (Ctrl-C in ``inverse
    search`` and ``predict``), both checked before each generation after the first ``min_generations``. Returns
    every point evaluated ``float[N, D]`` and its value ``float[N]`` (none when the deadline had passed and
    ``min_generations`` is 0). Deterministic for a given ``seed``.
    """
    dims = mean.shape[0]
    optimizer = CMA(mean=np.clip(mean, 0.0, 1.0).astype(np.float64), sigma=sigma,
                    bounds=np.tile([0.0, 1.0], (dims, 1)), seed=seed)
    points, values, spent, generation = [], [], 0, 0
    while spent < budget and (generation < min_generations or (
            (deadline is None or time.perf_counter() < deadline) and not (stop is not None and stop()))):
        count = min(optimizer.population_size, budget - spent)
        batch = np.stack([optimizer.ask() for _ in range(count)])
        scores = np.asarray(evaluate(batch), dtype=np.float64)
        if count == optimizer.population_size:
            optimizer.tell(list(zip(batch, scores)))
        points.append(batch)
        values.append(scores)
        spent += count
        generation += 1
    if not points:
        return np.empty((0, dims)), np.empty(0)
    return np.concatenate(points), np.concatenate(values)
