"""``inverse predict --tries N``: the same answer with N seeds, the one whose best candidate matches closest kept.

``--seed`` draws the flow sampler's candidates (and seeds CMA-ES); everything after them is deterministic, so
another seed is another search. The kept answer is judged by the only thing the tool can see, the match
distance of its first candidate to the target, and is the answer that ``--seed S`` alone gives (S: the kept
seed), bit for bit. On issue 13's seed runs (``benchmarks/results/seed_spread/``: 12 validation rows and 4 sounds
each from sox, fluidsynth and espeak-ng, three seeds) keeping the closest of 3 this way made the best-of-10
multi-scale distance 1.6 % lower in-domain, 8.3 % for the sox notes, 0.5 % for speech and left the instrument
notes as they were, at three times the time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (the command line reads MAX_TRIES before predict's imports)
    from inverse.predict import Prediction

#: Most tries one answer takes (each costs a whole answer's time).
MAX_TRIES = 10


def best_try(tried: list[tuple[int, Prediction]]) -> Prediction:
    """Of ``(seed, prediction)`` pairs (at least one), the prediction whose first candidate has the lowest match
    (the earliest seed on a tie), with :attr:`~inverse.predict.Prediction.tries` saying what was tried:
    ``{"seeds": [...], "best_match": [...], "kept_seed": S}``. One pair: its prediction unchanged."""
    if not tried:
        raise ValueError("no answers to choose from")
    if len(tried) == 1:
        return tried[0][1]
    matches = [float(prediction.candidates.match[0]) for _, prediction in tried]
    kept = min(range(len(tried)), key=lambda k: (matches[k], k))
    seeds = [seed for seed, _ in tried]
    return replace(tried[kept][1], tries={"seeds": seeds, "best_match": [round(m, 4) for m in matches],
                                          "kept_seed": seeds[kept]})


def answer_tries(answer: Callable[[int, int], Prediction], seed: int, tries: int,
                 stop: Callable[[], bool] | None = None) -> Prediction:
    """``answer(seed, k)`` for seeds ``seed`` .. ``seed + tries - 1`` (``k``: the try, from 0), then
    :func:`best_try`. ``stop()`` true after a try (Ctrl-C heard): no further try is started."""
    if not 1 <= tries <= MAX_TRIES:
        raise ValueError(f"tries must be 1..{MAX_TRIES}, got {tries}")
    tried = []
    for k in range(tries):
        tried.append((seed + k, answer(seed + k, k)))
        if stop is not None and stop():
            break
    return best_try(tried)
