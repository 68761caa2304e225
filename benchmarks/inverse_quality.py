"""Sound-matching quality of the inverse model against baselines, in-domain and out-of-domain.

    python benchmarks/inverse_quality.py --train data/train.h5 --targets data/test.h5 [--model PATH]
        [--n 500] [--ood-per-source 20] [--samples 10] [--pool 64] [--pca 128] [--eager] [--resume]

Targets: the first ``--n`` rows of a held-out dataset (a seed never used for training), and
out-of-domain sounds from sox, fluidsynth + fluid-soundfont-gm and espeak-ng (benchmarks/external_sounds.py).
Every method returns up to ``--samples`` candidate patches per target; all are rendered and scored the
same way (spectral distance in dB on the 512x512 spectrogram, :func:`inverse.sampling.score`):

- ``latent``: the product, latent sampling (a pool of ``--pool`` decodes, best and mutually different);
- ``point``: the regression head's point estimate alone (one candidate);
- ``param_noise``: the same pool size drawn as Gaussian noise around the point estimate in *parameter*
  space, its scale matched per target to the latent pool's mean spread (same diversity budget), then the
  same selection;
- ``nearest``: scikit-learn nearest neighbours over the training set (PCA of 8x8-pooled spectrograms),
  its ``--samples`` nearest, ranked by their rendered distance;
- ``prior``: ``--samples`` random draws from the synth's prior.

Per target: best-of-K and median-of-K distance, parameter MAE and discrete accuracy of the best (in-domain),
diversity (mean pairwise normalised-parameter distance) and the share of candidates within 1.5x the best.
Results: ``benchmarks/results/inverse_quality.{json,md,png}`` with the command line; per-target records are
appended to ``inverse_quality.partial.jsonl`` as they finish, and ``--resume`` skips the ones done.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from torch.utils.data import DataLoader
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402
from benchmarks.external_sounds import espeak_phrases, fluidsynth_notes, missing_tools, sox_notes  # noqa: E402
from dataset_gen.reader import SpectrogramDataset, collate  # noqa: E402
from inverse import checkpoint  # noqa: E402
from inverse.metrics import candidate_metrics  # noqa: E402
from inverse.predict import DEFAULT_MODEL  # noqa: E402
from inverse.sampling import SamplingConfig, perturbed_params, score, select_diverse  # noqa: E402
from synth.inputs import load_target  # noqa: E402
from synth.params import canonicalize  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import dequantize  # noqa: E402

METHODS = ("latent", "point", "param_noise", "nearest", "prior")
PRIOR_SEED = 1_000_003  # never used for a dataset
POOL = 8  # spectrogram pooling for the nearest-neighbour features (512x512 -> 64x64)


def pooled(spec_u8: torch.Tensor) -> np.ndarray:
    """uint8 spectrograms ``(B, 1, 512, 512)`` -> float32 features ``(B, 4096)`` (8x8 mean pooling)."""
    return F.avg_pool2d(dequantize(spec_u8).float(), POOL).flatten(1).numpy()


class NearestBaseline:
    """PCA of pooled spectrograms + k nearest neighbours over a training set (scikit-learn)."""

    def __init__(self, train_path: Path, components: int, rows: int | None, progress: bool):
        data = SpectrogramDataset(train_path, audio=False, as_uint8=True)
        count = len(data) if rows is None else min(rows, len(data))
        loader = DataLoader(torch.utils.data.Subset(data, range(count)), batch_size=256, num_workers=2,
                            collate_fn=collate)
        features, params = [], []
        for spec, p in tqdm(loader, desc="nearest: reading training set", disable=not progress, unit="batch"):
            features.append(pooled(spec))
            params.append(p)
        features_np = np.concatenate(features)
        self.params = torch.cat(params)
        self.pca = PCA(n_components=min(components, count), svd_solver="randomized", random_state=0)
        self.index = NearestNeighbors().fit(self.pca.fit_transform(features_np))
        self.rows = count
        self.explained = float(self.pca.explained_variance_ratio_.sum())

    def query(self, target: torch.Tensor, k: int) -> torch.Tensor:
        """Normalised target ``Tensor[512, 512]`` -> the ``k`` nearest training rows' params ``Tensor[k, 100]``."""
        feature = F.avg_pool2d(target[None, None].float(), POOL).flatten(1).numpy()
        _, index = self.index.kneighbors(self.pca.transform(feature), n_neighbors=k)
        return self.params[torch.from_numpy(index[0])]


def param_noise_pool(point: torch.Tensor, latent_pool: torch.Tensor, seed: int) -> torch.Tensor:
    """Pool of the latent pool's size: the point estimate, then Gaussian noise around it in parameter space.

    The noise scale is set so that the mean |difference| from the point matches the latent pool's (for a
    Gaussian, E|s N| = s sqrt(2/pi)); values are clipped to [0, 1] and discrete ones snapped to their bins.
    """
    spread = float((latent_pool[1:] - point).abs().mean()) if latent_pool.shape[0] > 1 else 0.0
    scale = spread / math.sqrt(2 / math.pi)
    noise = torch.randn(latent_pool.shape[0] - 1, point.shape[0], generator=torch.Generator().manual_seed(seed))
    pool = torch.cat([point[None], (point + scale * noise).clamp(0, 1)])
    return canonicalize(pool)


def evaluate_target(model, nearest: NearestBaseline, target: torch.Tensor, truth: torch.Tensor | None,
                    index: int, args) -> dict[str, dict]:
    """All methods on one normalised target; returns ``{method: metrics + time_s}``."""
    config = SamplingConfig(pool=args.pool, samples=args.samples, seed=args.seed + index)
    out: dict[str, dict] = {}

    def ranked(name: str, params: torch.Tensor, started: float, select: bool) -> None:
        distances, _, _ = score(params, target, compiled=not args.eager)
        if select:
            chosen, _ = select_diverse(params, distances, args.samples, config.min_distance)
        else:
            chosen = torch.argsort(distances, stable=True)[: args.samples].tolist()
        metrics = candidate_metrics(params[chosen], distances[chosen], truth)
        out[name] = {**metrics, "time_s": time.perf_counter() - started}

    started = time.perf_counter()
    latent_pool = perturbed_params(model, target, config)
    ranked("latent", latent_pool, started, select=True)
    point = latent_pool[0]
    started = time.perf_counter()
    ranked("point", point[None], started, select=False)
    started = time.perf_counter()
    ranked("param_noise", param_noise_pool(point, latent_pool, args.seed + index), started, select=True)
    started = time.perf_counter()
    ranked("nearest", nearest.query(target, args.samples), started, select=False)
    started = time.perf_counter()
    ranked("prior", draw(PRIOR_SEED, index * args.samples, args.samples), started, select=False)
    return out


def external_targets(folder: Path, per_source: int) -> list[tuple[str, str, torch.Tensor]]:
    """``(source, name, normalised spectrogram)`` for sox, fluidsynth and espeak-ng sounds."""
    targets = []
    for source, make in (("sox", sox_notes), ("fluidsynth", fluidsynth_notes), ("espeak-ng", espeak_phrases)):
        for name, path in make(folder / source, per_source):
            spec, _ = load_target(path, downmix=True)
            targets.append((source, name, spec))
    return targets


def aggregate(records: list[dict], group: str) -> dict:
    """Mean and median of every metric per method over the records of one group."""
    chosen = [r for r in records if r["group"] == group]
    table = {}
    for method in METHODS:
        rows = [r["methods"][method] for r in chosen]
        if not rows:
            continue
        table[method] = {key: {"mean": statistics.fmean(m[key] for m in rows),
                               "median": statistics.median(m[key] for m in rows)} for key in rows[0]}
    if chosen:
        wins = [r["methods"]["latent"]["best_db"] < r["methods"]["nearest"]["best_db"] for r in chosen]
        table["latent_beats_nearest_share"] = sum(wins) / len(wins)
    table["targets"] = len(chosen)
    return table


def markdown(results: dict) -> str:
    lines = ["# Inverse model quality", "", f"Command: `{results['command']}`", "",
             f"Model: `{results['model']}`; training set for nearest neighbours: `{results['train']}` "
             f"({results['nearest_rows']} rows, PCA {results['pca_components']} components explaining "
             f"{100 * results['pca_explained']:.1f} % of the variance); {results['samples']} candidates per "
             f"target from a pool of {results['pool']}; render path: {results['render']}.", "",
             "Distances are spectral distances in dB on the 512x512 spectrogram (lower is better); mean over "
             "targets (median in brackets). Diversity: mean pairwise mean |difference| of normalised parameters "
             "among the returned candidates.", ""]
    for group, title in results["group_titles"].items():
        table = results["groups"].get(group)
        if not table or not table["targets"]:
            continue
        in_domain = group == "in_domain"
        lines += [f"## {title} ({table['targets']} targets)", ""]
        header = "| method | best-of-K dB | median-of-K dB | diversity | within 1.5x best | s/target |"
        rule = "|---|---|---|---|---|---|"
        if in_domain:
            header += " param MAE (best) | discrete acc (best) |"
            rule += "---|---|"
        lines += [header, rule]
        for method in METHODS:
            m = table.get(method)
            if not m:
                continue
            cells = [f"{m['best_db']['mean']:.2f} ({m['best_db']['median']:.2f})",
                     f"{m['median_db']['mean']:.2f} ({m['median_db']['median']:.2f})",
                     f"{m['diversity']['mean']:.3f}", f"{m['within_1.5x_best']['mean']:.2f}",
                     f"{m['time_s']['mean']:.2f}"]
            if in_domain:
                cells += [f"{m['best_param_mae']['mean']:.3f}", f"{m['best_discrete_acc']['mean']:.3f}"]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines += ["", f"Latent sampling's best beats nearest-neighbour retrieval's best on "
                      f"{100 * table['latent_beats_nearest_share']:.0f} % of these targets.", ""]
    if results.get("missing_tools"):
        lines += [f"Not run (tools missing): {', '.join(results['missing_tools'])}.", ""]
    lines += [f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
              f"{results['machine']['torch']}; load average at the end {results['load_average']}; "
              f"wall time {results['wall_s'] / 60:.1f} min.", ""]
    return "\n".join(lines)


def figure(results: dict, path: Path) -> Path:
    """Grouped bars: mean best-of-K and median-of-K distance per method, one panel per target group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [g for g, t in results["groups"].items() if t.get("targets")]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.8), squeeze=False)
    for ax, group in zip(axes[0], groups):
        table = results["groups"][group]
        methods = [m for m in METHODS if m in table]
        x = range(len(methods))
        ax.bar([i - 0.2 for i in x], [table[m]["best_db"]["mean"] for m in methods], 0.4, label="best of K")
        ax.bar([i + 0.2 for i in x], [table[m]["median_db"]["mean"] for m in methods], 0.4, label="median of K")
        ax.set_xticks(list(x), methods, rotation=30, ha="right")
        ax.set_title(f"{group.replace('_', '-')} ({table['targets']} targets)", fontsize=9)
        ax.set_ylabel("spectral distance (dB)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="checkpoint (default: the shipped model)")
    parser.add_argument("--train", required=True, type=Path, help="the model's training set (nearest neighbours)")
    parser.add_argument("--targets", required=True, type=Path, help="held-out dataset (a seed not used to train)")
    parser.add_argument("--n", type=int, default=500, help="in-domain targets (default 500)")
    parser.add_argument("--ood-per-source", type=int, default=20, help="targets per external source (default 20)")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--pool", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pca", type=int, default=128, help="PCA components for nearest neighbours")
    parser.add_argument("--nearest-rows", type=int, help="training rows indexed (default: all)")
    parser.add_argument("--eager", action="store_true", help="render eagerly instead of through torch.compile")
    parser.add_argument("--resume", action="store_true", help="keep the per-target records already written")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    progress = not args.quiet
    wall = time.perf_counter()
    torch.set_grad_enabled(False)

    model, info = checkpoint.load(args.model)
    model.eval()
    nearest = NearestBaseline(args.train, args.pca, args.nearest_rows, progress)
    partial = args.out / "inverse_quality.partial.jsonl"
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        partial.unlink(missing_ok=True)
    records = [json.loads(line) for line in partial.read_text().splitlines()] if partial.exists() else []
    done = {(r["group"], r["name"]) for r in records}

    def run(group: str, name: str, index: int, target: torch.Tensor, truth: torch.Tensor | None) -> None:
        if (group, name) in done:
            return
        record = {"group": group, "name": name,
                  "methods": evaluate_target(model, nearest, target, truth, index, args)}
        records.append(record)
        with partial.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    data = SpectrogramDataset(args.targets, audio=False)
    if data.attrs.seed == info.get("data", {}).get("train", {}).get("seed"):
        raise SystemExit(f"error: {args.targets} was rendered with the training seed {data.attrs.seed}")
    for i in tqdm(range(min(args.n, len(data))), desc="in-domain targets", disable=not progress, unit="target"):
        spec, truth = data[i]
        run("in_domain", f"row{i}", i, spec[0], truth)

    missing = missing_tools()
    if not missing:
        with tempfile.TemporaryDirectory() as folder:
            ood = external_targets(Path(folder), args.ood_per_source)
            for k, (source, name, spec) in enumerate(tqdm(ood, desc="out-of-domain targets", disable=not progress,
                                                          unit="target")):
                run(source, name, 1_000_000 + k, spec, None)
    else:
        print(f"out-of-domain targets skipped: missing {', '.join(missing)}", file=sys.stderr)

    titles = {"in_domain": f"In-domain: held-out synth patches ({args.targets.name}, seed {data.attrs.seed})",
              "sox": "Out-of-domain: sox synth notes", "fluidsynth": "Out-of-domain: fluidsynth GM instruments",
              "espeak-ng": "Out-of-domain: espeak-ng speech"}
    results = {"command": command_line(), "model": args.model, "model_data": info.get("data"),
               "train": str(args.train), "targets": str(args.targets), "samples": args.samples, "pool": args.pool,
               "nearest_rows": nearest.rows, "pca_components": nearest.pca.n_components_,
               "pca_explained": nearest.explained, "render": "eager" if args.eager else "torch.compile",
               "missing_tools": missing, "group_titles": titles,
               "groups": {group: aggregate(records, group) for group in titles},
               "machine": machine_info(), "load_average": load_average(), "wall_s": time.perf_counter() - wall}
    json_path, md_path = write_results(args.out, "inverse_quality", results, markdown(results))
    png = figure(results, args.out / "inverse_quality.png")
    print(md_path.read_text())
    print(f"wrote {json_path}, {md_path} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
