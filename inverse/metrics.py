"""Quality metrics for a set of returned candidates (shared by ``inverse eval`` and the benchmarks)."""

from __future__ import annotations

import torch

from synth.params import CONTINUOUS_INDICES, DISCRETE_INDICES, PARAM_SPECS, discrete_index

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


def candidate_metrics(params: torch.Tensor, distances: torch.Tensor, truth: torch.Tensor | None = None
                      ) -> dict[str, float]:
    """Metrics of ``K`` candidates ranked best first (``Tensor[K, 100]``, ``Tensor[K]`` dB)."""
    best = float(distances.min())
    out = {"best_db": best, "median_db": float(distances.median()), "diversity": diversity(params),
           "within_1.5x_best": float((distances <= 1.5 * best).float().mean())}
    if truth is not None:
        out.update({f"best_{k}": v for k, v in param_errors(params[int(distances.argmin())], truth).items()})
    return out
