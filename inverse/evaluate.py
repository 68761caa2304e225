"""``inverse eval``: sampling quality of a trained model on a held-out dataset."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from dataset_gen.reader import SpectrogramDataset
from inverse.metrics import candidate_metrics, param_errors
from inverse.model import InverseModel
from inverse.sampling import SamplingConfig, sample


def evaluate_model(model: InverseModel, data_path: str | Path, targets: int = 100,
                   config: SamplingConfig | None = None, progress: bool = True) -> dict:
    """Per-target metrics of the returned candidates and of the point estimate, averaged over the first
    ``targets`` rows of ``data_path``. Returns ``{"targets": n, "mean": {...}, "median": {...}}``."""
    config = config or SamplingConfig()
    data = SpectrogramDataset(data_path, audio=False)
    rows = min(targets, len(data))
    per_target: list[dict[str, float]] = []
    for i in tqdm(range(rows), desc="targets", disable=not progress, unit="target"):
        spec, truth = data[i]
        target = spec[0]
        found = sample(model, target, config)
        metrics = candidate_metrics(found.params, found.match, found.mss, found.distance_db, truth)
        metrics.update({f"point_{k}": v for k, v in param_errors(found.point, truth).items()})
        per_target.append(metrics)
    keys = per_target[0].keys() if per_target else []
    return {"targets": rows, "sampling": asdict(config),
            "mean": {k: statistics.fmean(m[k] for m in per_target) for k in keys},
            "median": {k: statistics.median(m[k] for m in per_target) for k in keys}}


def format_table(result: dict) -> str:
    lines = [f"{'metric':<28}{'mean':>10}{'median':>10}   ({result['targets']} targets)"]
    for key, mean in result["mean"].items():
        lines.append(f"{key:<28}{mean:>10.4f}{result['median'][key]:>10.4f}")
    return "\n".join(lines)

