"""Sound-matching methods at equal wall-clock budgets per target: the method comparison table.

    python benchmarks/methods.py --train data/train.h5 --targets data/test.h5 [--model PATH] [--index PATH]
        [--budgets 1 5 20] [--n 10] [--ood-per-source 2] [--samples 10]

For every target (the first ``--n`` rows of a held-out dataset, and sox / fluidsynth / espeak-ng sounds as
in inverse_quality.py) and every budget of seconds, each method runs until its budget is spent (checked
between batches of renders, so a method can overrun by one batch; the time actually used is reported)
and returns its best ``--samples`` mutually different candidates, ranked by the match distance
(:func:`inverse.target.score`; in-domain targets are matched against their exact audio, external sounds
against their own):

- ``random``: random search from the prior (batches of 16 renders);
- ``cmaes_prior``: CMA-ES over all 100 parameters from the centre of the cube (``inverse search``);
- ``nearest``: nearest-neighbour retrieval over the training set (as in inverse_quality.py);
- ``point``: the regression head's point estimate;
- ``latent``: latent sampling, the pool rendered in batches of 16 until the budget is spent;
- ``latent+gradient``: latent sampling for half the budget, then gradient refinement of the chosen;
- ``latent+cmaes``: latent sampling for half the budget, then CMA-ES around each chosen candidate;
- ``hybrid+gradient``: ``inverse predict``'s pool (the model's 64 latent samples and the retrieval index's 64
  nearest training patches, scored together; this alone takes ~1-2 s), then gradient refinement of its 16 best
  mutually different rows until the budget is spent, refined and unrefined ranked together (``predict`` without
  its symmetry expansion and pitch check, so that the budget is the only difference).

The returned candidates are then scored once more (outside the budget) for their best-of-K and median-of-K
MSS (:func:`synth.perceptual.mss_distance`, the headline) and best-of-K ``distance_db``. All render on the path
``inverse predict`` takes (``auto``: the fast render where it is built on this machine, with its gradient library
for refinement). Results: ``benchmarks/results/methods.{json,md}``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402
from benchmarks.external_sounds import missing_tools  # noqa: E402
from benchmarks.inverse_quality import NearestBaseline, external_targets  # noqa: E402
from dataset_gen.reader import SpectrogramDataset  # noqa: E402
from inverse import checkpoint  # noqa: E402
from inverse.metrics import diversity  # noqa: E402
from inverse.predict import DEFAULT_MODEL  # noqa: E402
from inverse.refine import RefineConfig, refine_cmaes, refine_gradient  # noqa: E402
from inverse.retrieval import DEFAULT_INDEX, RetrievalIndex  # noqa: E402
from inverse.sampling import SamplingConfig, perturbed_params, select_diverse  # noqa: E402
from inverse.search import SearchConfig, search  # noqa: E402
from inverse.target import Target, score  # noqa: E402
from synth.fast_render import resolve as resolve_render_path  # noqa: E402
from synth.voice import render  # noqa: E402

METHODS = ("random", "cmaes_prior", "nearest", "point", "latent", "latent+gradient", "latent+cmaes", "hybrid+gradient")
CHUNK = 16  # renders per batch for the anytime methods
MAX_POOL = 4096  # latent decodes prepared per target (rendered until the budget is spent)
MIN_DISTANCE = SamplingConfig.min_distance


def _ranked(params: torch.Tensor, distances: torch.Tensor, samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    chosen, _ = select_diverse(params, distances, min(samples, params.shape[0]), MIN_DISTANCE)
    return params[chosen], distances[chosen]


def latent_until(model, target: Target, deadline: float, samples: int, seed: int):
    """Latent sampling whose pool grows in batches of ``CHUNK`` until ``deadline`` (at least one batch)."""
    pool = perturbed_params(model, target.spectrogram, SamplingConfig(pool=MAX_POOL, samples=1, seed=seed))
    params, distances = [], []
    for chunk in pool.split(CHUNK):
        params.append(chunk)
        distances.append(score(chunk, target).match)
        if time.perf_counter() >= deadline:
            break
    return _ranked(torch.cat(params), torch.cat(distances), samples)


def hybrid_then_gradient(model, index: RetrievalIndex, target: Target, deadline: float, samples: int, seed: int):
    """``inverse predict``'s pool, scored, then gradient refinement of its best rows until ``deadline``."""
    config = SamplingConfig(seed=seed)
    params = torch.cat([perturbed_params(model, target.spectrogram, config),
                        index.query(target.spectrogram, config.retrieved)])
    distances = score(params, target).match
    if time.perf_counter() < deadline:
        starts, _ = select_diverse(params, distances, RefineConfig.rows, MIN_DISTANCE)
        refined, refined_d = refine_gradient(params[starts], target, steps=10**6, lr=RefineConfig.lr,
                                             deadline=deadline)
        params, distances = torch.cat([refined, params]), torch.cat([refined_d, distances])
    return _ranked(params, distances, samples)


def run_method(name: str, model, nearest: NearestBaseline, index: RetrievalIndex, target: Target, budget: float,
               samples: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One method on one target within ``budget`` seconds -> (params ``Tensor[K, 100]``, match distances
    ``Tensor[K]``)."""
    start = time.perf_counter()
    deadline = start + budget
    if name in ("random", "cmaes_prior"):
        found = search(target, SearchConfig(method="random" if name == "random" else "cmaes", budget=10**9,
                                            time_budget_s=budget, samples=samples, batch=CHUNK, seed=seed))
        return found.params, found.match
    if name == "nearest":
        params = nearest.query(target.spectrogram, samples)
        return _ranked(params, score(params, target).match, samples)
    if name == "point":
        params = perturbed_params(model, target.spectrogram, SamplingConfig(pool=1, samples=1, seed=seed))
        return params, score(params, target).match
    if name == "latent":
        return latent_until(model, target, deadline, samples, seed)
    if name == "hybrid+gradient":
        return hybrid_then_gradient(model, index, target, deadline, samples, seed)
    params, distances = latent_until(model, target, start + budget / 2, samples, seed)
    if time.perf_counter() >= deadline:  # sampling used the whole budget
        return params, distances
    if name == "latent+gradient":
        refined, refined_d = refine_gradient(params, target, steps=10**6, lr=RefineConfig.lr, deadline=deadline)
    else:
        refined, refined_d = refine_cmaes(params, target, distances, budget=10**6, sigma0=0.05, seed=seed,
                                          deadline=deadline)
    return _ranked(torch.cat([refined, params]), torch.cat([refined_d, distances]), samples)


def aggregate(records: list[dict], groups: tuple[str, ...], budgets: list[float]) -> dict:
    """Mean best-of-K / median-of-K MSS, best-of-K dB, diversity and seconds used, per method and budget, over
    the groups."""
    chosen = [r for r in records if r["group"] in groups]
    table: dict = {"targets": len({r["name"] for r in chosen})}
    for budget in budgets:
        for method in METHODS:
            rows = [r for r in chosen if r["budget_s"] == budget and r["method"] == method]
            if rows:
                table[f"{method}@{budget:g}"] = {k: statistics.fmean(r[k] for r in rows)
                                                 for k in ("best_mss", "median_mss", "best_db", "diversity",
                                                           "used_s")}
    return table


def markdown(results: dict) -> str:
    budgets = results["budgets"]
    lines = ["# Sound-matching methods at equal wall-clock budgets", "", f"Command: `{results['command']}`", "",
             f"Model: `{results['model']}`, retrieval index `{results['index']}`; {results['samples']} candidates "
             f"per target, ranked by the match distance; render path: {results['render']}. "
             "Each cell: mean best-of-K MSS / mean median-of-K MSS "
             "(multi-scale log-mel distance, `synth.perceptual.mss_distance`) / mean best-of-K dB / diversity "
             "(mean pairwise mean |difference| of normalised parameters); seconds actually used in brackets. "
             "Lower distances are better.", ""]
    for group, title in (("in_domain", "In-domain (held-out synth patches)"),
                         ("out_of_domain", "Out-of-domain (sox, fluidsynth, espeak-ng)")):
        table = results["tables"][group]
        if not table["targets"]:
            continue
        lines += [f"## {title}, {table['targets']} targets", "",
                  "| method | " + " | ".join(f"{b:g} s" for b in budgets) + " |",
                  "|---|" + "---|" * len(budgets)]
        for method in METHODS:
            cells = []
            for budget in budgets:
                m = table.get(f"{method}@{budget:g}")
                cells.append(f"{m['best_mss']:.3f} / {m['median_mss']:.3f} / {m['best_db']:.2f} / "
                             f"{m['diversity']:.3f} ({m['used_s']:.1f} s)" if m else "-")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        for rival in ("cmaes_prior", "nearest"):
            verdicts = []
            for budget in budgets:
                theirs, ours = table.get(f"{rival}@{budget:g}"), table.get(f"hybrid+gradient@{budget:g}")
                if theirs and ours:
                    change = ours["best_mss"] - theirs["best_mss"]
                    word = "tie" if abs(change) < 5e-5 else "yes" if change < 0 else "**no**"
                    verdicts.append(f"{budget:g} s: {word} "
                                    f"({ours['best_mss']:.4f} vs {theirs['best_mss']:.4f})")
            lines += ["", f"`hybrid+gradient` (predict's pool and refinement) beats `{rival}` on best-of-K MSS: "
                      + "; ".join(verdicts) + "."]
        lines += [""]
    lines += [f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
              f"{results['machine']['torch']}; load average at the end {results['load_average']}; wall time "
              f"{results['wall_s'] / 60:.1f} min.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--index", default=str(DEFAULT_INDEX), help="retrieval index of hybrid+gradient")
    parser.add_argument("--train", required=True, type=Path, help="the model's training set (nearest neighbours)")
    parser.add_argument("--targets", required=True, type=Path, help="held-out dataset (a seed not used to train)")
    parser.add_argument("--budgets", type=float, nargs="+", default=[1.0, 5.0, 20.0], help="seconds per target")
    parser.add_argument("--n", type=int, default=10, help="in-domain targets")
    parser.add_argument("--ood-per-source", type=int, default=2, help="targets per external source")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pca", type=int, default=128)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    wall = time.perf_counter()
    torch.set_grad_enabled(False)
    model, _ = checkpoint.load(args.model)
    model.eval()
    nearest = NearestBaseline(args.train, args.pca, None, not args.quiet)
    index = RetrievalIndex.load(args.index)
    data = SpectrogramDataset(args.targets, audio=False)
    targets = [("in_domain", f"row{i}", Target.from_audio(render(data[i][1][None])[0]))
               for i in range(min(args.n, len(data)))]
    missing = missing_tools()
    with tempfile.TemporaryDirectory() as folder:
        if not missing:
            targets += [(sound.source, sound.name, sound.target) for sound in
                        external_targets(Path(folder), args.ood_per_source)]
    records = []
    jobs = [(t, b, m) for t in targets for b in args.budgets for m in METHODS]
    for (group, name, target), budget, method in tqdm(jobs, desc="targets x budgets x methods",
                                                      disable=args.quiet):
        started = time.perf_counter()
        params, _ = run_method(method, model, nearest, index, target, budget, args.samples, args.seed)
        used = time.perf_counter() - started
        scores = score(params, target)  # outside the budget: the MSS and dB of what was returned
        records.append({"group": group, "name": name, "budget_s": budget, "method": method,
                        "best_mss": float(scores.mss.min()), "median_mss": float(scores.mss.median()),
                        "best_db": float(scores.distance_db.min()), "median_db": float(scores.distance_db.median()),
                        "diversity": diversity(params), "used_s": used})
    ood = ("sox", "fluidsynth", "espeak-ng")
    results = {"command": command_line(), "model": args.model, "index": args.index,
               "render": resolve_render_path("auto", gradients=True), "samples": args.samples, "budgets": args.budgets,
               "missing_tools": missing, "records": records,
               "tables": {"in_domain": aggregate(records, ("in_domain",), args.budgets),
                          "out_of_domain": aggregate(records, ood, args.budgets)},
               "machine": machine_info(), "load_average": load_average(), "wall_s": time.perf_counter() - wall}
    json_path, md_path = write_results(args.out, "methods", results, markdown(results))
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
