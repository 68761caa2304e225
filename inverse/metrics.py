"""Quality metrics for a set of returned candidates (shared by ``inverse eval`` and the benchmarks)."""

from __future__ import annotations

import torch

from synth.params import CONTINUOUS_INDICES, DISCRETE_INDICES, PARAM_SPECS, discrete_index
from synth.symmetry import symmetric_param_error

_CONTINUOUS = list(CONTINUOUS_INDICES)


def param_errors(predicted: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """Mean absolute error over continuous parameters (normalised) and the share of discrete parameters
    with the right choice, for ``Tensor[100]`` vectors."""
    mae = (predicted[_CONTINUOUS] - truth[_CONTINUOUS]).abs().mean()
    hits = [int(discrete_index(predicted[i], n)) == int(discrete_index(truth[i], n))
            for i, n in ((i, PARAM_SPECS[i].choices) for i in DISCRETE_INDICES)]
    return {"param_mae": float(mae), "discrete_acc": sum(hits) / len(hits)}


def diversity(params: torch.Tensor) -> float:
    """Mean pairwise mean-|difference| of normalised parameters among ``Tensor[K, 100]`` candidates."""
    if params.shape[0] < 2:
        return 0.0
    gaps = (params[:, None, :] - params[None, :, :]).abs().mean(dim=2)
    k = params.shape[0]
    return float(gaps.sum() / (k * (k - 1)))


def closest_pair(params: torch.Tensor) -> float:
    """The smallest mean |difference| between two rows of ``params`` ``Tensor[K, 100]`` (K >= 2)."""
    return float((params[:, None] - params[None]).abs().mean(dim=2).fill_diagonal_(float("inf")).min())


def candidate_metrics(params: torch.Tensor, match: torch.Tensor, mss: torch.Tensor | None = None,
                      distance_db: torch.Tensor | None = None, truth: torch.Tensor | None = None) -> dict[str, float]:
    """Metrics of ``K`` candidates (``Tensor[K, 100]``) from their distances to the target, each ``Tensor[K]``:
    ``match`` (the ranking distance), optionally ``mss`` and ``distance_db`` (dB).

    Best-of-K and median-of-K of each distance, the diversity of the set (:func:`diversity`), the share of
    candidates within 1.5x the best match distance, and, with the ``truth`` parameters, the parameter errors of
    the best candidate (by match): plain (:func:`param_errors`) and minimised over slot orders.
    """
    best = int(match.argmin())
    out = {"best_match": float(match.min()), "median_match": float(match.median()), "diversity": diversity(params),
           "within_1.5x_best": float((match <= 1.5 * match.min()).float().mean())}
    for name, values in (("mss", mss), ("db", distance_db)):
        if values is not None:
            out.update({f"best_{name}": float(values.min()), f"median_{name}": float(values.median())})
    if truth is not None:
        out.update({f"best_{k}": v for k, v in param_errors(params[best], truth).items()})
        out["best_sym_param_error"] = float(symmetric_param_error(params[best][None], truth[None])[0])
    return out
