"""Sound-matching quality of the inverse model against baselines, in-domain and out-of-domain (issue 13).

    python benchmarks/inverse_quality.py --train data/train.h5 --targets data/test.h5 [--model PATH]
        [--methods latent hybrid hybrid_refined point param_noise nearest prior] [--n 500] [--ood-per-source 20]
        [--pitch-targets 200] [--samples 10] [--pool 64] [--expand 6] [--transpose 32] [--spread 4] [--seed 0]
        [--pca 128] [--no-pyin] [--no-pitch-check]
        [--nearest-rows N] [--render fast|eager] [--resume] [--keep-unpitched-from RECORDS] [--out DIR]

Targets: the first ``--n`` rows of a held-out dataset (a seed never used for training; the script refuses the
model's or ``--train``'s seed), each matched against its exact audio (``Target.from_audio(render(truth))``),
and ``--ood-per-source`` sounds from each of sox, fluidsynth + fluid-soundfont-gm and espeak-ng
(benchmarks/external_sounds.py), matched against their own audio. Every method proposes candidate patches;
each proposal is rendered and scored the same way (:func:`inverse.target.score` against the same
:class:`~inverse.target.Target`), and a method that proposes more than ``--samples`` is cut to ``--samples``
mutually different ones by the sampler's own selection (best by match distance first):

- ``flow`` (with ``--flow``): the flow-matching sampler's pool (:mod:`inverse.flow`), then the same symmetry
  expansion and selection as ``latent``;
- ``latent``: the seed's sampler, :func:`inverse.sampling.sample` without an index (a pool of ``--pool`` latent
  decodes, the best ``--expand`` expanded by the synth's symmetries, best and mutually different returned);
- ``hybrid``: the same pool plus the ``--retrieved`` nearest patches of the retrieval index ``--index``
  (:mod:`inverse.retrieval`, the shipped one by default), ranked and expanded together;
- ``hybrid_refined``: ``hybrid`` then ``--refine-steps`` gradient steps (:mod:`inverse.refine`): what
  ``inverse predict`` does by default;
- ``point``: the regression head's point estimate alone (one candidate);
- ``param_noise``: a pool of ``--pool`` drawn as Gaussian noise around the point estimate in *parameter*
  space, its scale matched per target to the latent pool's mean spread (same diversity budget);
- ``nearest``: the baseline, scikit-learn nearest neighbours over the training set ``--train`` (PCA of
  8x8-pooled spectrograms), its ``--samples`` nearest;
- ``prior``: ``--samples`` random draws from the synth's prior, of the version the training set was drawn
  from (its ``prior`` attribute).

Per method and group (in-domain, sox, fluidsynth, espeak-ng): best-of-K MSS (the headline,
:func:`synth.perceptual.mss_distance`), median-of-K MSS and best-of-K ``distance_db``; pitch agreement of the
best candidate (lowest match distance) with the target, judged on targets with a clear pitch
(:func:`synth.pitch.estimate_pitch`; only the first ``--pitch-targets`` targets of each group are tracked,
because the tracker is slow); diversity (mean pairwise normalised-parameter distance of the returned) and the
share of returned candidates within 1.5x the best one's MSS; in-domain, the best candidate's parameter error,
plain and symmetry-aware. The markdown ends with issue 13's targets as a verdict table against ``nearest``
(relative changes with a 95 % bootstrap interval over targets, shares with a 95 % Wilson interval).

Adding a method is one decorated function ``fn(context, target, truth) -> Tensor[P, 100]`` (or the
:class:`~inverse.sampling.Candidates` of a sampler that already scored them with :func:`inverse.target.score`
on this target); ``truth`` is only for checks, a method must not look at it (``flow`` below is one);
``verdict=True`` adds it to the verdict table. ``--methods`` chooses which run.

Results: ``benchmarks/results/inverse_quality.{json,md,png}`` with the command line, machine and load
averages; per-target records are appended to ``inverse_quality.partial.jsonl`` as they finish (after a header
line with the settings: the model's and the index's weights by digest, the data by fingerprint). ``--resume``
keeps them and runs only what is missing, including methods added to ``--methods`` since (the settings that
change results must be the same, the hybrid methods' own options too, which each target line stores for the
hybrid methods it ran; each invocation records the commit that ran it, and records written before a
change of ``predict`` itself must be dropped by hand, or, for a change that acts only on targets with a clear
pitch, ``--keep-unpitched-from OLD/inverse_quality.partial.jsonl`` starts a new ``--out`` from the old run's
records of the other targets). Each target line also names the render build that made it
(:func:`benchmarks.common.render_build`: another CPU renders other float bits), so ``compare_runs.py`` can say
which paired targets came from other builds. The records of ``benchmarks/results/predict_default`` are
kept in the repository, so that the long default run continues in any checkout.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from torch.utils.data import DataLoader
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import (  # noqa: E402
    RESULTS,
    command_line,
    git_commit,
    load_average,
    machine_info,
    render_build,
    write_results,
)
from benchmarks.external_sounds import espeak_phrases, fluidsynth_notes, missing_tools, sox_notes  # noqa: E402
from dataset_gen.layout import FileAttrs, open_complete  # noqa: E402
from dataset_gen.reader import SpectrogramDataset, collate  # noqa: E402
from inverse import checkpoint  # noqa: E402
from inverse.flow import FlowNet, file_sha256, load_flow  # noqa: E402
from inverse.metrics import candidate_metrics  # noqa: E402
from inverse.predict import DEFAULT_MODEL  # noqa: E402
from inverse.refine import RefineConfig, refine_candidates  # noqa: E402
from inverse.retrieval import DEFAULT_INDEX, RetrievalIndex, pooled  # noqa: E402
from inverse.sampling import (  # noqa: E402
    Candidates,
    SamplingConfig,
    choose,
    expand_by_symmetry,
    perturbed_params,
    sample,
    scored_pool,
    select_diverse,
)
from inverse.target import Scores, Target, load_any_target, score  # noqa: E402
from synth.errors import positive_float, probability  # noqa: E402
from synth.params import canonicalize  # noqa: E402
from synth.pitch import CENTS_TOLERANCE, PitchConfig, estimate_pitch, pitch_agreement, pyin_pitch  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import dequantize  # noqa: E402
from synth.voice import render  # noqa: E402

PRIOR_SEED = 1_000_003  # never used for a dataset
OOD_INDEX = 1_000_000  # target numbers (seeds) of out-of-domain sounds: OOD_INDEX + 10_000 * source + k
OUT_OF_DOMAIN = ("sox", "fluidsynth", "espeak-ng")
GROUPS = ("in_domain", *OUT_OF_DOMAIN)
BASELINE = "nearest"  # what issue 13's targets compare against
WITHIN = 1.5  # "within 1.5x the best candidate's MSS"

# Issue 13's targets.
MSS_REDUCTION = 0.30  # in-domain best-of-K MSS at least 30 % below nearest neighbours'
PITCH_IN_DOMAIN = 0.90  # share of clear-pitch in-domain targets whose best candidate is within 50 cents
PITCH_OUT_OF_DOMAIN = 0.75  # the same for clear-pitch out-of-domain notes


class NearestBaseline:
    """PCA of pooled spectrograms + k nearest neighbours over a training set (scikit-learn)."""

    def __init__(self, train_path: Path, components: int, rows: int | None, progress: bool):
        data = SpectrogramDataset(train_path, audio=False, as_uint8=True)
        count = len(data) if rows is None else min(rows, len(data))
        loader = DataLoader(torch.utils.data.Subset(data, range(count)), batch_size=256, num_workers=2,
                            collate_fn=collate)
        features, params = [], []
        for spec, p in tqdm(loader, desc="nearest: reading training set", disable=not progress, unit="batch"):
            features.append(pooled(dequantize(spec)).numpy())
            params.append(p)
        features_np = np.concatenate(features)
        self.params = torch.cat(params)
        self.pca = PCA(n_components=min(components, count), svd_solver="randomized", random_state=0)
        self.index = NearestNeighbors().fit(self.pca.fit_transform(features_np))
        self.rows = count
        self.explained = float(self.pca.explained_variance_ratio_.sum())

    def query(self, target: torch.Tensor, k: int) -> torch.Tensor:
        """Normalised target ``Tensor[512, 512]`` -> the ``k`` nearest training rows' params ``Tensor[k, 100]``."""
        feature = pooled(target[None]).numpy()
        _, index = self.index.kneighbors(self.pca.transform(feature), n_neighbors=min(k, self.rows))
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


def dataset_attrs(path: Path) -> FileAttrs:
    """The root attributes of a finished dataset file (refuses partial or foreign files, as readers do)."""
    file, attrs = open_complete(path)
    file.close()
    return attrs


# ---------------------------------------------------------------------------------------------------------
# Methods: a registry of functions (context, target, truth) -> candidate params.


@dataclass
class Context:
    """What a method may use for one target. One is made per run; :meth:`for_target` derives each target's."""

    model: Any  # the inverse model (None where no method needs it, e.g. in tests)
    nearest: NearestBaseline | None  # the baseline's index over the training set (None unless ``nearest`` runs)
    prior: str  # prior version of the training set (synth.prior.draw's ``prior``)
    render_path: str = "fast"  # synth.render's path for every candidate
    options: argparse.Namespace | None = None  # the command line, for a method's own options
    config: SamplingConfig = field(default_factory=SamplingConfig)  # this target's (seed = --seed + index)
    index: int = 0  # target number: seeds noise and prior draws
    shared: dict = field(default_factory=dict)  # run-wide cache (see once()), the same dict for every target
    _latent_pool: torch.Tensor | None = None

    def for_target(self, index: int, base: SamplingConfig) -> Context:
        seed = base.seed + index
        return replace(self, index=index, config=replace(base, seed=seed), _latent_pool=None)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()`` on first use in the run, the same object afterwards (a model to load, an index to build)."""
        if key not in self.shared:
            self.shared[key] = make()
        return self.shared[key]

    def latent_pool(self, target: Target) -> torch.Tensor:
        """The point estimate and ``pool - 1`` latent decodes ``Tensor[pool, 100]`` (computed once per target)."""
        if self._latent_pool is None:
            self._latent_pool = perturbed_params(self.model, target.spectrogram, self.config)
        return self._latent_pool


MethodFn = Callable[[Context, Target, "torch.Tensor | None"], "torch.Tensor | Candidates"]


@dataclass(frozen=True)
class Method:
    name: str
    run: MethodFn
    about: str  # one line for the report
    verdict: bool = False  # judged against issue 13's targets (a product, not a baseline)
    default: bool = True  # run when --methods is not given


METHODS: dict[str, Method] = {}


def method(name: str, about: str, verdict: bool = False, default: bool = True) -> Callable[[MethodFn], MethodFn]:
    """Register ``fn(context, target, truth) -> Tensor[P, 100] | Candidates`` under ``name``."""
    def register(fn: MethodFn) -> MethodFn:
        METHODS[name] = Method(name, fn, about, verdict, default)
        return fn
    return register


@method("latent", "the seed's sampler: latent sampling with symmetry expansion (`inverse.sampling.sample`)",
        verdict=True)
def _latent(context: Context, target: Target, truth: torch.Tensor | None) -> Candidates:
    return sample(context.model, target, context.config, render_path=context.render_path)


def flow_net(context: Context) -> FlowNet | None:
    """The ``--flow`` sampler (loaded once per run, tied to ``--model``'s backbone), or None without one."""
    if context.options is None or context.options.flow is None:
        return None
    return context.once("flow", lambda: load_flow(context.options.flow, checkpoint.paths(context.options.model)[0])[0])


@method("flow", "the flow-matching sampler's pool + symmetry expansion (inverse/flow.py; --flow)", verdict=True)
def _flow(context: Context, target: Target, truth: torch.Tensor | None) -> Candidates:
    if flow_net(context) is None:
        raise SystemExit("method flow needs --flow runs/FLOW/best (a checkpoint from `inverse train-flow`)")
    return sample(context.model, target, context.config, render_path=context.render_path, flow=flow_net(context))


def retrieval_index(context: Context) -> RetrievalIndex:
    """The ``--index`` the hybrid methods add to their pool (loaded once per run)."""
    return context.once("index", lambda: RetrievalIndex.load(context.options.index))


@method("hybrid", "the model's pool (the --flow sampler's where one is given, as `predict` with a shipped flow; "
        "else latent sampling) + the retrieval index's nearest training patches (`--index`, `--retrieved`), "
        "ranked and symmetry-expanded together (`inverse.sampling.sample`)", verdict=True)
def _hybrid(context: Context, target: Target, truth: torch.Tensor | None) -> Candidates:
    return sample(context.model, target, context.config, render_path=context.render_path, flow=flow_net(context),
                  index=retrieval_index(context))


@method("hybrid_refined", "hybrid, then gradient refinement of the returned candidates through the synth "
        "(`--refine-steps` Adam steps on the match distance): `inverse predict`'s default", verdict=True)
def _hybrid_refined(context: Context, target: Target, truth: torch.Tensor | None) -> Candidates:
    pool = scored_pool(context.model, target, context.config, context.render_path, flow_net(context),
                       retrieval_index(context))
    config = RefineConfig(method="gradient", steps=context.options.refine_steps, lr=context.options.refine_lr,
                          pitch_step=context.options.pitch_step, seed=context.config.seed,
                          rows=context.options.refine_rows, retune=context.options.retune,
                          fine_pitch=context.options.fine_pitch)
    return refine_candidates(*pool, target, config, context.config, context.render_path)


@method("point", "the regression head's point estimate alone (one candidate)")
def _point(context: Context, target: Target, truth: torch.Tensor | None) -> torch.Tensor:
    return context.latent_pool(target)[:1]


@method("param_noise", "Gaussian noise around the point estimate in parameter space, the latent pool's spread")
def _param_noise(context: Context, target: Target, truth: torch.Tensor | None) -> torch.Tensor:
    pool = context.latent_pool(target)
    return param_noise_pool(pool[0], pool, context.config.seed)


@method("nearest", "the baseline: nearest neighbours over the training set (PCA of pooled spectrograms)")
def _nearest(context: Context, target: Target, truth: torch.Tensor | None) -> torch.Tensor:
    return context.nearest.query(target.spectrogram, context.config.samples)


def nearest_pool(context: Context, target: Target) -> tuple[torch.Tensor, Scores, torch.Tensor]:
    """The pool's size of nearest training rows, scored by the perceptual match and symmetry-expanded as the
    product's pool is (:func:`~inverse.sampling.expand_by_symmetry`), with the nearest row as the "point"."""
    params = context.nearest.query(target.spectrogram, context.config.pool)
    scores = score(params, target, render_path=context.render_path)
    pool, pool_scores = expand_by_symmetry(params, scores, target, context.config, context.render_path)
    return pool, pool_scores, params[0]


@method("nearest_ranked", "retrieval as a sampler: the pool's size of nearest rows, ranked by the match distance "
        "and symmetry-expanded like the product's pool")
def _nearest_ranked(context: Context, target: Target, truth: torch.Tensor | None) -> Candidates:
    return choose(*nearest_pool(context, target), context.config)


@method("nearest_refined", "nearest_ranked, then 10 gradient steps on the match distance through the synth "
        "(`inverse.refine`; ~11 s per target: only with --methods)", default=False)
def _nearest_refined(context: Context, target: Target, truth: torch.Tensor | None) -> Candidates:
    config = RefineConfig(method="gradient", seed=context.config.seed)
    return refine_candidates(*nearest_pool(context, target), target, config, context.config, context.render_path)


@method("prior", "random draws from the synth's prior (the training set's version)")
def _prior(context: Context, target: Target, truth: torch.Tensor | None) -> torch.Tensor:
    samples = context.config.samples
    return draw(PRIOR_SEED, context.index * samples, samples, prior=context.prior)


def returned(found: torch.Tensor | Candidates, target: Target, config: SamplingConfig, render_path: str
             ) -> tuple[torch.Tensor, Scores]:
    """A method's answer as the candidates it returns, best first, and their scores: ``Candidates`` as they
    are; params ``Tensor[P, 100]`` scored, and cut to ``config.samples`` by :func:`select_diverse`."""
    if isinstance(found, Candidates):
        return found.params, found.scores
    if found.dim() != 2 or found.shape[0] == 0 or found.shape[1] != 100:
        raise ValueError(f"a method must return candidate params of shape (P, 100), got {tuple(found.shape)}")
    scores = score(found, target, render_path=render_path)
    if found.shape[0] > config.samples:
        chosen, _ = select_diverse(found, scores.match, config.samples, config.min_distance)
    else:
        chosen = torch.argsort(scores.match, stable=True).tolist()
    return found[chosen], scores.select(chosen)


def _finite(value: torch.Tensor | float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def pitch_of(estimate, row: int = 0) -> dict:
    """One sound's :class:`~synth.pitch.PitchEstimate` as JSON (NaN / inf as null)."""
    return {"f0_hz": _finite(estimate.f0_hz[row]), "clear": bool(estimate.clear[row]),
            "clarity": _finite(estimate.clarity[row]), "spread_cents": _finite(estimate.spread_cents[row])}


def with_pyin_reading(target_pitch: dict, target_hz: float) -> dict:
    """``target_pitch`` (:func:`pitch_of`, CREPE) plus pYIN's reading of the same target, ``target_hz`` (NaN for
    none): ``pyin_f0_hz`` and ``trackers_agree``, whether the two trackers put it within the pitch tolerance
    (a second rule for a *clear* pitch: two independent trackers hear the same one)."""
    agree = pitch_agreement(torch.tensor([target_hz]), torch.tensor([target_pitch["f0_hz"] or math.nan]))["match"]
    return {**target_pitch, "pyin_f0_hz": _finite(target_hz), "trackers_agree": bool(agree[0])}


def evaluate_target(context: Context, names: list[str], target: Target, truth: torch.Tensor | None,
                    judge_pitch: bool, target_pitch: dict | None = None, pyin: bool = False) -> dict:
    """Methods ``names`` on one target: ``{"methods": {name: metrics}, "target_pitch": ...}``.

    Metrics: :func:`inverse.metrics.candidate_metrics` plus ``within_1.5x_best_mss``, ``candidates`` and
    ``time_s`` (proposing and scoring). With ``judge_pitch`` the target's pitch is estimated (unless given as
    ``target_pitch``) and, where it is clear, the pitch of every method's first candidate (rank 1, as the user
    sees it): ``metrics["pitch"]`` (CREPE), and with ``pyin`` also ``metrics["pitch_pyin"]``
    (:func:`synth.pitch.pyin_pitch` on the candidate and the target: a second tracker, independent of the CREPE
    that the product's pitch check uses; the target's pYIN reading is kept, :func:`with_pyin_reading`). Every
    returned candidate's pitch is also tracked (CREPE): ``metrics["pitch_all"]``, how many of the K are within
    the tolerance (the user asked for K that sound like the target, not only a first one).
    """
    out: dict[str, dict] = {}
    best_audio, all_audio = {}, {}
    for name in names:
        started = time.perf_counter()
        params, scores = returned(METHODS[name].run(context, target, truth), target, context.config,
                                  context.render_path)
        elapsed = time.perf_counter() - started
        metrics = candidate_metrics(params, scores.match, scores.mss, scores.distance_db, truth)
        metrics[f"within_{WITHIN}x_best_mss"] = float((scores.mss <= WITHIN * scores.mss.min()).float().mean())
        out[name] = {**metrics, "candidates": params.shape[0], "time_s": elapsed}
        best_audio[name], all_audio[name] = scores.audio[0], scores.audio  # rank 1; all K
    record: dict = {"methods": out}
    if judge_pitch:
        started = time.perf_counter()
        if target_pitch is None:
            target_pitch = pitch_of(estimate_pitch(target.audio[None]))
        if target_pitch["clear"] and best_audio:
            estimate = estimate_pitch(torch.stack(list(best_audio.values())))
            reference = torch.full((len(best_audio),), target_pitch["f0_hz"])
            agreement = pitch_agreement(estimate.f0_hz, reference)
            judges = {"pitch": (estimate.f0_hz, agreement)}
            if pyin:
                found = pyin_pitch(torch.stack([target.audio, *best_audio.values()]))
                target_pitch = with_pyin_reading(target_pitch, float(found[0]))
                judges["pitch_pyin"] = (found[1:], pitch_agreement(found[1:], found[:1].expand(len(best_audio))))
            every = estimate_pitch(torch.cat(list(all_audio.values()))).f0_hz
            every_within = pitch_agreement(every, torch.full_like(every, target_pitch["f0_hz"]))["match"]
            for name, within in zip(all_audio, every_within.split([a.shape[0] for a in all_audio.values()])):
                out[name]["pitch_all"] = {"within": int(within.sum()), "candidates": within.numel()}
            for key, (f0, agreed) in judges.items():
                for k, name in enumerate(best_audio):
                    out[name][key] = {"f0_hz": _finite(f0[k]), "cents": _finite(agreed["cents"][k]),
                                      "within": bool(agreed["match"][k]),
                                      "octave_error": bool(agreed["octave_error"][k])}
        record["pitch_s"] = time.perf_counter() - started
    if target_pitch is not None:
        record["target_pitch"] = target_pitch
    return record


class ExternalTarget(NamedTuple):
    source: str  # sox | fluidsynth | espeak-ng
    number: int  # position among this source's sounds
    name: str
    target: Target  # the sound's own audio (16 kHz mono)


def external_targets(folder: Path, per_source: int) -> list[ExternalTarget]:
    """``per_source`` sounds each from sox, fluidsynth and espeak-ng, as targets with their own audio."""
    targets = []
    for source, make in zip(OUT_OF_DOMAIN, (sox_notes, fluidsynth_notes, espeak_phrases)):
        for k, (name, path) in enumerate(make(folder / source, per_source)):
            targets.append(ExternalTarget(source, k, name, load_any_target(path, downmix=True)))
    return targets


def merge_records(lines: list[dict]) -> list[dict]:
    """Per-target records from JSONL lines: later lines for the same ``(group, name)`` add methods (lines
    that are not target records, such as invocations, are skipped)."""
    merged: dict[tuple[str, str], dict] = {}
    for line in lines:
        if "group" not in line:
            continue
        key = (line["group"], line["name"])
        record = merged.setdefault(key, {"group": line["group"], "name": line["name"], "methods": {}})
        record["methods"].update(line["methods"])
        if "options" in line:
            record.setdefault("options", {}).update(line["options"])
        if "render_build" in line:  # per method: a resume on another machine adds methods made by another build
            record.setdefault("render_build", {}).update(dict.fromkeys(line["methods"], line["render_build"]))
        for extra in ("target_pitch", "pitch_s"):
            if extra in line:
                record[extra] = line[extra]
    return list(merged.values())


# ---------------------------------------------------------------------------------------------------------
# Aggregation, issue 13's verdicts, report.


def change_interval(ours: list[float], base: list[float], resamples: int = 2000, seed: int = 0
                    ) -> tuple[float, float]:
    """95 % bootstrap interval (percentile; targets resampled with their pairs) of ``mean(ours) / mean(base) - 1``,
    the relative change the verdicts report. Deterministic for a given ``seed``."""
    a, b = np.asarray(ours, dtype=np.float64), np.asarray(base, dtype=np.float64)
    picks = np.random.default_rng(seed).integers(0, len(a), size=(resamples, len(a)))
    low, high = np.percentile(a[picks].mean(axis=1) / b[picks].mean(axis=1) - 1.0, [2.5, 97.5])
    return float(low), float(high)


def paired_change(ours: list[float], base: list[float]) -> dict:
    """``{"mean": mean(ours) / mean(base) - 1, "interval": its 95 % bootstrap interval (:func:`change_interval`),
    "better": targets where ours is lower, "worse": where it is higher}``, targets paired."""
    return {"mean": statistics.fmean(ours) / statistics.fmean(base) - 1, "interval": change_interval(ours, base),
            "better": sum(o < b for o, b in zip(ours, base)), "worse": sum(o > b for o, b in zip(ours, base))}


def share_interval(hits: int, judged: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95 % for the default ``z``) of the share ``hits / judged``."""
    if judged == 0:
        return 0.0, 1.0
    share = hits / judged
    centre = (share + z * z / (2 * judged)) / (1 + z * z / judged)
    half = z / (1 + z * z / judged) * math.sqrt(share * (1 - share) / judged + z * z / (4 * judged * judged))
    return max(0.0, centre - half), min(1.0, centre + half)


def pitch_summary(records: list[dict], name: str, key: str = "pitch", agreed_only: bool = False) -> dict:
    """Pitch agreement of method ``name``'s first candidates over the records whose target has a clear pitch
    and whose candidate pitch was tracked (``key``: ``pitch``, CREPE, or ``pitch_pyin``): ``judged``, ``within``
    (50 cents), ``octave_errors``, ``share``. ``agreed_only``: only targets whose pitch CREPE and pYIN agree on
    (:func:`with_pyin_reading`)."""
    judged = [r["methods"][name][key] for r in records
              if r.get("target_pitch", {}).get("clear") and key in r["methods"].get(name, {})
              and (not agreed_only or r["target_pitch"].get("trackers_agree"))]
    within = sum(p["within"] for p in judged)
    return {"judged": len(judged), "within": within, "octave_errors": sum(p["octave_error"] for p in judged),
            "share": within / len(judged) if judged else None}


def aggregate(records: list[dict], groups: tuple[str, ...], names: list[str]) -> dict:
    """Mean and median of every metric per method over the records of ``groups``, pitch agreement, how many
    targets had their pitch tracked and clear, and each method's share of targets it beats the baseline on."""
    chosen = [r for r in records if r["group"] in groups]
    table: dict = {"targets": len(chosen), "pitch_tracked": sum("target_pitch" in r for r in chosen),
                   "pitch_clear": sum(bool(r.get("target_pitch", {}).get("clear")) for r in chosen),
                   "pitch_pyin_read": sum(bool(r.get("target_pitch", {}).get("clear"))
                                          and "pyin_f0_hz" in r["target_pitch"] for r in chosen),
                   "pitch_agreed": sum(bool(r.get("target_pitch", {}).get("clear")
                                            and r["target_pitch"].get("trackers_agree")) for r in chosen),
                   "methods": {}}
    for name in names:
        rows = [r["methods"][name] for r in chosen if name in r["methods"]]
        if not rows:
            continue
        keys = [k for k, v in rows[0].items() if isinstance(v, (int, float)) and all(k in m for m in rows)]
        stats: dict = {k: {"mean": statistics.fmean(m[k] for m in rows),
                           "median": statistics.median(m[k] for m in rows)} for k in keys}
        stats["targets"] = len(rows)
        stats["pitch"] = pitch_summary(chosen, name)
        stats["pitch_pyin"] = pitch_summary(chosen, name, "pitch_pyin")
        for key in ("pitch", "pitch_pyin"):
            stats[f"{key}_agreed"] = pitch_summary(chosen, name, key, agreed_only=True)
        every = [r["methods"][name]["pitch_all"] for r in chosen if "pitch_all" in r["methods"].get(name, {})
                 and r.get("target_pitch", {}).get("clear")]
        if every:
            within, total = sum(e["within"] for e in every), sum(e["candidates"] for e in every)
            stats["pitch_all"] = {"within": within, "candidates": total, "share": within / total}
        if name != BASELINE and BASELINE in names:  # on the targets both ran: what issue 13 compares
            both = [(r["methods"][name], r["methods"][BASELINE]) for r in chosen
                    if name in r["methods"] and BASELINE in r["methods"]]
            stats["beats_baseline_share"] = (sum(a["best_mss"] < b["best_mss"] for a, b in both) / len(both)
                                             if both else None)
            stats["paired"] = {"targets": len(both), **{
                key: {"ours": statistics.fmean(a[key] for a, _ in both),
                      "baseline": statistics.fmean(b[key] for _, b in both),
                      "change_interval": change_interval([a[key] for a, _ in both], [b[key] for _, b in both])}
                for key in ("best_mss", "diversity")
            }} if both else None
        table["methods"][name] = stats
    return table


@dataclass
class Verdict:
    target: str  # issue 13's target, in words
    baseline: str  # the baseline's figure ("" where the target is absolute)
    values: dict[str, str]  # method -> its figure
    met: dict[str, bool | None]  # method -> met / not met / None: not judged


def _mean(table: dict | None, name: str, key: str) -> float | None:
    methods = (table or {}).get("methods", {})
    return methods[name][key]["mean"] if name in methods and key in methods[name] else None


def verdicts(tables: dict[str, dict], contenders: list[str]) -> list[Verdict]:
    """Issue 13's targets for each contender, from ``tables`` (:func:`aggregate` per group and for
    ``"out_of_domain"``, all external groups together)."""
    out = []

    def compared(group: str, key: str, title: str, better: Callable[[float, float], bool], digits: int) -> None:
        """A row comparing each contender's mean ``key`` with the baseline's on the targets both ran."""
        table = tables.get(group) or {}
        base_all = _mean(table, BASELINE, key)
        base_count = table.get("methods", {}).get(BASELINE, {}).get("targets")
        values, met = {}, {}
        for name in contenders:
            paired = table.get("methods", {}).get(name, {}).get("paired")
            if not paired:
                values[name], met[name] = ("-" if _mean(table, name, key) is None
                                           else f"{_mean(table, name, key):.{digits}f}"), None
                continue
            ours, base = paired[key]["ours"], paired[key]["baseline"]
            values[name] = f"{ours:.{digits}f}" + (f" ({100 * (ours / base - 1):+.0f} %)" if base else "")
            if base and "change_interval" in paired[key]:
                low, high = paired[key]["change_interval"]
                values[name] += f"; 95 % interval {100 * low:+.0f} .. {100 * high:+.0f} %"
            if paired["targets"] != base_count:
                values[name] += f"; nearest {base:.{digits}f} on these {paired['targets']} targets"
            met[name] = better(ours, base)
        out.append(Verdict(title, "-" if base_all is None else f"{base_all:.{digits}f}", values, met))

    def mss_row(group: str, title: str, factor: float) -> None:
        compared(group, "best_mss", title, (lambda ours, base: ours <= factor * base) if factor < 1
                 else (lambda ours, base: ours < base), 3)

    mss_row("in_domain", f"in-domain: best-of-K MSS at least {100 * MSS_REDUCTION:.0f} % below nearest's",
            1 - MSS_REDUCTION)
    for group in OUT_OF_DOMAIN:
        mss_row(group, f"{group}: best-of-K MSS below nearest's", 1.0)

    def pitch_row(group: str, title: str, threshold: float) -> None:
        values, met = {}, {}
        for name in contenders:
            summary = (tables.get(group) or {}).get("methods", {}).get(name, {}).get("pitch")
            if not summary or not summary["judged"]:
                values[name], met[name] = "no clear-pitch targets", None
            else:
                low, high = share_interval(summary["within"], summary["judged"])
                values[name] = (f"{100 * summary['share']:.0f} % ({summary['within']}/{summary['judged']}; "
                                f"95 % interval {100 * low:.0f}-{100 * high:.0f} %; "
                                f"{summary['octave_errors']} octave errors)")
                met[name] = summary["share"] >= threshold
        base = (tables.get(group) or {}).get("methods", {}).get(BASELINE, {}).get("pitch")
        base_text = f"{100 * base['share']:.0f} % of {base['judged']}" if base and base["judged"] else "-"
        out.append(Verdict(title, base_text, values, met))

    pitch_row("in_domain", f"in-domain: best candidate within {CENTS_TOLERANCE:.0f} cents of a clear target "
              f"pitch for >= {100 * PITCH_IN_DOMAIN:.0f} %", PITCH_IN_DOMAIN)
    pitch_row("out_of_domain", f"out-of-domain: the same for >= {100 * PITCH_OUT_OF_DOMAIN:.0f} % of clear-pitch "
              "notes", PITCH_OUT_OF_DOMAIN)

    for group, where in (("in_domain", "in-domain"), ("out_of_domain", "out-of-domain")):
        compared(group, "diversity", f"{where}: diversity at least nearest's", lambda ours, base: ours >= base, 3)
        values, met = {}, {}
        for name in contenders:
            ours = _mean(tables.get(group), name, f"within_{WITHIN}x_best_mss")
            values[name] = "-" if ours is None else f"{100 * ours:.1f} % of candidates"
            met[name] = None if ours is None else ours >= 1 - 1e-9
        base_share = _mean(tables.get(group), BASELINE, f"within_{WITHIN}x_best_mss")
        out.append(Verdict(f"{where}: every candidate within {WITHIN}x the best one's MSS",
                           "-" if base_share is None else f"{100 * base_share:.1f} %", values, met))
    return out


def verdict_word(met: bool | None) -> str:
    return "not judged" if met is None else ("met" if met else "**not met**")


def _mean_median(m: dict, key: str, digits: int = 3) -> str:
    return f"{m[key]['mean']:.{digits}f} ({m[key]['median']:.{digits}f})" if key in m else "-"


def _pitch_cells(m: dict) -> list[str]:
    p, second = m.get("pitch"), m.get("pitch_pyin")
    if not p or not p["judged"]:
        return ["-", "-"]
    cells = [f"{100 * p['share']:.0f} % ({p['within']}/{p['judged']})", str(p["octave_errors"])]
    if m.get("pitch_all"):
        cells[0] += f"; all K: {100 * m['pitch_all']['share']:.0f} % ({m['pitch_all']['within']}/" \
                    f"{m['pitch_all']['candidates']})"
    if second and second["judged"]:
        cells[0] += f"; pYIN {100 * second['share']:.0f} % ({second['within']}/{second['judged']})"
    agreed, agreed_pyin = m.get("pitch_agreed"), m.get("pitch_pyin_agreed")
    if agreed and agreed["judged"] and agreed_pyin and agreed_pyin["judged"]:
        cells[0] += (f"; both hear the target's pitch: {agreed['within']}/{agreed['judged']}, pYIN "
                     f"{agreed_pyin['within']}/{agreed_pyin['judged']}")
    return cells


def clear_pitch_rule(config: PitchConfig | None = None) -> str:
    c = config or PitchConfig()
    return (f"a target has a *clear pitch* when CREPE ({c.model}, `synth/pitch.py`) finds at least {c.min_frames} "
            f"periodic frames (peak probability >= {c.periodic}) making up at least {100 * c.clear_share:.0f} % "
            f"of its loud frames (within {c.loud_db:.0f} dB of the loudest and above {c.floor_dbfs:.0f} dBFS), "
            f"and their pitches have an interquartile range of at most {c.clear_spread_cents:.0f} cents (frames "
            f"{1000 * c.hop / 16000:.0f} ms apart; {1000 * c.short_hop / 16000:.0f} ms for a sound loud for less than "
            f"{c.short_s:g} s)")


def nearest_sentence(results: dict) -> str:
    """Which training set the baseline searched, and whether it is the model's own."""
    model_data = results.get("model_data") or {}
    if results["train_is_models"]:
        whose = "the model's own (same data fingerprint)."
    elif model_data.get("train", {}).get("online"):
        seeds = ", ".join(str(s) for s in checkpoint.training_seeds(model_data))
        whose = (f"the model was trained on rows rendered on the fly (prior {model_data['train'].get('prior')}, "
                 f"seeds {seeds}), not on a file.")
    else:
        whose = (f"**not the model's training set** (fingerprint {results['train_fingerprint']}, the model's "
                 f"{results['model_train_fingerprint']}).")
    where = f"Training set `{results['train']}` (prior {results['train_prior']}): {whose}"
    if results["nearest_rows"] is None:
        return where + " Nearest neighbours not run."
    return (where + f" Nearest neighbours over {results['nearest_rows']} rows, PCA {results['pca_components']} "
            f"components explaining {100 * results['pca_explained']:.1f} % of the variance.")


def markdown(results: dict) -> str:
    names = results["methods"]
    lines = ["# Inverse model quality (issue 13)", "", f"Command: `{results['command']}`", "",
             f"Model: `{results['model']}`"
             + (f", its flow sampler `{results['flow']}` (the hybrid methods' pool)" if results.get("flow") else "")
             + f". {nearest_sentence(results)} {results['samples']} candidates per "
             f"target; latent pool {results['pool']}, symmetry expansion of the best {results['expand']}; render "
             f"path: {results['render']}.", "",
             "Methods (every returned candidate is rendered and scored against the same target, "
             "`inverse.target.score`):", ""]
    lines += [f"- `{name}`: {METHODS[name].about}" if name in METHODS else f"- `{name}`" for name in names]
    lines += ["",
              "**MSS**: multi-scale log-mel distance on the audio (`synth.perceptual.mss_distance`; natural-log "
              "units, 1 = 8.7 dB; lower is better), the headline. Candidates are ranked by the match distance "
              "(MSS + spectral shape); **best-of-K** is the lowest MSS among the K returned, **median-of-K** their "
              "median, **dB** the lowest mean |dB| difference over the 512x512 spectrogram. Figures: mean over "
              "targets (median in brackets).", "",
              f"**Pitch**: {clear_pitch_rule()}. Only those targets are judged; the method's first candidate (rank 1: "
              "the lowest match distance, or where the product's pitch check ran, `inverse.pitch_check`, the best "
              "with the target's pitch by CREPE) agrees when its dominant pitch is within "
              f"{CENTS_TOLERANCE:.0f} cents of the "
              f"target's; an *octave error* is a whole number of octaves off (within {CENTS_TOLERANCE:.0f} cents), "
              "counted apart. Because the pitch check itself uses CREPE, the same candidate is also judged by pYIN "
              "(`synth.pitch.pyin_pitch`, no learned weights; target and candidate both by pYIN) unless `--no-pyin`: "
              "the second figure. pYIN misreads some targets that CREPE calls clear (an octave or more below, on "
              "FM clusters), so the last figures judge only the targets both trackers put at the same pitch "
              f"(within {CENTS_TOLERANCE:.0f} cents): a stricter rule for *one clear pitch*. **All K**: the share "
              "of all returned candidates (not only the first) whose CREPE pitch is within the tolerance. The "
              "trackers are slow, "
              "so only the first "
              f"{results['pitch_targets']} targets of each group are tracked.", "",
              "**Diversity**: mean pairwise mean |difference| of normalised parameters among the returned "
              f"candidates; **within {WITHIN}x**: share of returned candidates whose MSS is at most {WITHIN}x the "
              "best one's. In-domain, the best candidate's (by match) continuous-parameter MAE, the same minimised "
              "over oscillator-slot permutations (`synth.symmetry.symmetric_param_error`) and its discrete "
              "accuracy. **s/target**: proposing and scoring. A method with fewer records in a group than the "
              "others (a run "
              "resumed with other `--methods`) has its count beside its name.", ""]
    groups = results["groups"]
    for group, title in results["group_titles"].items():
        table = groups.get(group)
        if not table or not table["targets"]:
            continue
        in_domain = group == "in_domain"
        lines += [f"## {title}", "",
                  f"{table['targets']} target{'s' if table['targets'] != 1 else ''}; pitch tracked on "
                  f"{table['pitch_tracked']}, clear on {table['pitch_clear']}"
                  + (f" (pYIN read {table['pitch_pyin_read']} of them, at the same pitch {table['pitch_agreed']})"
                     if table.get("pitch_pyin_read") else "") + ".", ""]
        header = (f"| method | K | best-of-K MSS | median-of-K MSS | best-of-K dB | pitch within "
                  f"{CENTS_TOLERANCE:.0f} c | octave errors | diversity | within {WITHIN}x best MSS | s/target |")
        rule = "|---|---:|---|---|---|---|---:|---:|---:|---:|"
        if in_domain:
            header += " param MAE (best) | symmetric param error (best) | discrete acc (best) |"
            rule += "---:|---:|---:|"
        lines += [header, rule]
        for name in names:
            m = table["methods"].get(name)
            if not m:
                continue
            cells = [f"{m['candidates']['mean']:.0f}", _mean_median(m, "best_mss"), _mean_median(m, "median_mss"),
                     _mean_median(m, "best_db", 2), *_pitch_cells(m), f"{m['diversity']['mean']:.3f}",
                     f"{100 * m[f'within_{WITHIN}x_best_mss']['mean']:.0f} %", f"{m['time_s']['mean']:.2f}"]
            if in_domain:
                cells += [f"{m[k]['mean']:.3f}" if k in m else "-"
                          for k in ("best_param_mae", "best_sym_param_error", "best_discrete_acc")]
            label = name if m["targets"] == table["targets"] else f"{name} ({m['targets']} of {table['targets']})"
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        wins = [f"`{name}` {100 * m['beats_baseline_share']:.0f} %" for name, m in table["methods"].items()
                if m.get("beats_baseline_share") is not None]
        if wins:
            lines += ["", f"Share of targets where a method's best-of-K MSS beats `{BASELINE}`'s: "
                      + ", ".join(wins) + "."]
        lines.append("")
    contenders = [name for name in names if name in METHODS and METHODS[name].verdict]
    if results["verdicts"] and contenders:
        lines += ["## Issue 13's targets", "",
                  f"Means over targets (MSS and diversity on the targets both the method and `{BASELINE}` ran); "
                  f"out-of-domain pitch, diversity and the {WITHIN}x share pool sox, fluidsynth and espeak-ng.", "",
                  "| target | nearest | " + " | ".join(f"{name} | verdict" for name in contenders) + " |",
                  "|---|---|" + "---|---|" * len(contenders)]
        for v in results["verdicts"]:
            cells = [f"{v['values'].get(name, '-')} | {verdict_word(v['met'].get(name))}" for name in contenders]
            lines.append(f"| {v['target']} | {v['baseline']} | " + " | ".join(cells) + " |")
        lines.append("")
    if results.get("missing_tools"):
        lines += [f"Not run (tools missing): {', '.join(results['missing_tools'])}.", ""]
    machine = results["machine"]
    load = results["load_average"]
    simd = f" ({machine['cpu_capability']}, flags {machine['cpu_flags']})" if "cpu_flags" in machine else ""
    lines += [f"Machine: {machine['cpu_model']}{simd}, {machine['cpus']} CPUs, torch {machine['torch']}, "
              f"torch threads: {machine['torch_threads']}; load average (1, 5, 15 min) {load['start']} at the start, "
              f"{load['end']} at the end; wall time {results['wall_s'] / 60:.1f} min"
              + (" (this invocation; resumed records kept)" if results["resumed"] else "") + ".", ""]
    if results["resumed"]:
        lines += ["Records written by these invocations (`--resume` keeps earlier ones):", ""]
        lines += [f"- {run['started']}, commit {run.get('commit', 'not recorded')}, load average "
                  f"{run['load_average']}: `{run['command']}`" + kept_note(run) for run in results["invocations"]]
        lines.append("")
    return "\n".join(lines)


def kept_note(run: dict) -> str:
    kept = run.get("kept_unpitched")
    return (f" (kept the records of the {kept['targets']} targets without a clear pitch from `{kept['from']}` and its "
            "invocations, listed above it; re-ran the others)") if kept else ""


def figure(results: dict, path: Path) -> Path:
    """Grouped bars: mean best-of-K and median-of-K MSS per method, one panel per target group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [g for g in GROUPS if results["groups"].get(g, {}).get("targets")]
    fig, axes = plt.subplots(1, max(len(groups), 1), figsize=(4.2 * max(len(groups), 1), 3.8), squeeze=False)
    for ax, group in zip(axes[0], groups):
        table = results["groups"][group]["methods"]
        names = [m for m in results["methods"] if m in table]
        x = range(len(names))
        ax.bar([i - 0.2 for i in x], [table[m]["best_mss"]["mean"] for m in names], 0.4, label="best of K")
        ax.bar([i + 0.2 for i in x], [table[m]["median_mss"]["mean"] for m in names], 0.4, label="median of K")
        ax.set_xticks(list(x), names, rotation=30, ha="right")
        count = results["groups"][group]["targets"]
        ax.set_title(f"{group.replace('_', '-')} ({count} target{'s' if count != 1 else ''})", fontsize=9)
        ax.set_ylabel("MSS (log-mel distance, lower is better)")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------------------
# Command line.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    def at_least(low: int) -> Callable[[str], int]:
        def parse(text: str) -> int:
            value = int(text)
            if value < low:
                raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
            return value
        return parse

    positive, non_negative = at_least(1), at_least(0)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="checkpoint (default: the shipped model)")
    parser.add_argument("--train", required=True, type=Path, help="the model's training set (nearest neighbours)")
    parser.add_argument("--targets", required=True, type=Path, help="held-out dataset (a seed not used to train)")
    parser.add_argument("--flow", help="flow checkpoint for the flow method (`inverse train-flow`)")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS),
                        help="methods to run (default: all but nearest_refined, the slow experiment; flow only "
                             "with --flow)")
    parser.add_argument("--n", type=non_negative, default=500, help="in-domain targets (default 500)")
    parser.add_argument("--ood-per-source", type=non_negative, default=20,
                        help="targets per external source: sox, fluidsynth, espeak-ng (default 20)")
    parser.add_argument("--pitch-targets", type=non_negative, default=200,
                        help="pitch is tracked on the first N targets of each group (default 200: all external)")
    parser.add_argument("--no-pyin", action="store_true",
                        help="judge pitch with CREPE only (pYIN, the second judge, costs ~3 s per clear-pitch target)")
    parser.add_argument("--no-pitch-check", action="store_true",
                        help="the product's methods keep the match order (no inverse.pitch_check): an ablation")
    parser.add_argument("--samples", type=positive, default=10, help="candidates returned per target (default 10)")
    parser.add_argument("--pool", type=positive, default=64, help="latent pool per target (default 64)")
    parser.add_argument("--expand", type=non_negative, default=SamplingConfig.expand,
                        help=f"best candidates expanded by symmetry (default {SamplingConfig.expand}; 0: off)")
    parser.add_argument("--transpose", type=non_negative, default=SamplingConfig.transpose,
                        help=f"best pool rows given a pitch-aligned copy (default {SamplingConfig.transpose}; 0: off)")
    parser.add_argument("--plain", type=non_negative, default=SamplingConfig.plain,
                        help="pool rows whose loudness settings make plain candidates at a clear target pitch "
                             f"(inverse.plain; default {SamplingConfig.plain}; 0: none, an ablation)")
    parser.add_argument("--refit", type=non_negative, default=SamplingConfig.refit,
                        help="best pool rows given a copy with the amplifier envelope fitted to the target "
                             f"(default {SamplingConfig.refit}; 0: none)")
    parser.add_argument("--chords", type=non_negative, default=SamplingConfig.chords,
                        help=f"sets of a chord target's notes played as plain patches (default "
                             f"{SamplingConfig.chords})")
    parser.add_argument("--glides", type=non_negative, default=SamplingConfig.glides,
                        help=f"pool rows bent by a gliding target's pitch (default {SamplingConfig.glides})")
    parser.add_argument("--modulation", type=non_negative, default=SamplingConfig.modulation,
                        help=f"pool rows copied with LFOs in step with a target's vibrato or tremolo (default "
                             f"{SamplingConfig.modulation})")
    parser.add_argument("--pitch-rounds", type=non_negative, default=SamplingConfig.pitch_rounds,
                        help=f"the pitch check's rounds at most (default {SamplingConfig.pitch_rounds})")
    parser.add_argument("--match-within", type=float, default=SamplingConfig.match_within,
                        help="returned candidates whose match distance is above this x the best one's replaced by "
                             f"other forms of the others (inverse.fill; default {SamplingConfig.match_within:g}; 0: "
                             "none, the earlier choice)")
    parser.add_argument("--spread", type=non_negative, default=SamplingConfig.spread,
                        help="draws of inaudible parameters when the returned are written in their most mutually "
                             f"different forms (default {SamplingConfig.spread}; 0: as chosen, an ablation)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--index", default=str(DEFAULT_INDEX),
                        help="retrieval index of the hybrid methods (default: the shipped one; `inverse index`)")
    parser.add_argument("--retrieved", type=non_negative, default=SamplingConfig.retrieved,
                        help=f"index rows added to the hybrid methods' pool (default {SamplingConfig.retrieved})")
    parser.add_argument("--refine-steps", type=positive, default=RefineConfig.steps,
                        help=f"gradient steps of hybrid_refined (default {RefineConfig.steps})")
    parser.add_argument("--refine-rows", type=positive, default=RefineConfig.rows,
                        help=f"best mutually different rows hybrid_refined refines (default {RefineConfig.rows})")
    parser.add_argument("--refine-lr", type=positive_float, default=RefineConfig.lr,
                        help=f"Adam step size of hybrid_refined, normalised units (default {RefineConfig.lr})")
    parser.add_argument("--pitch-step", type=probability, default=RefineConfig.pitch_step,
                        help=f"note_pitch's Adam steps of hybrid_refined as a share of the others' (default "
                             f"{RefineConfig.pitch_step})")
    parser.add_argument("--pitch-fill", action=argparse.BooleanOptionalAction, default=SamplingConfig.pitch_fill,
                        help="after the pitch check, candidates still off a clear target pitch replaced by other "
                             f"forms of those on it (inverse.fill; default {SamplingConfig.pitch_fill})")
    parser.add_argument("--retune", type=non_negative, default=RefineConfig.retune,
                        help=f"best refined candidates of hybrid_refined retuned after its steps (inverse.retune; "
                             f"default {RefineConfig.retune})")
    parser.add_argument("--fine-pitch", type=non_negative, default=RefineConfig.fine_pitch,
                        help=f"best refined or retuned candidates of hybrid_refined whose note is tuned in cents after "
                             f"(inverse.fine_pitch; default {RefineConfig.fine_pitch})")
    parser.add_argument("--pca", type=positive, default=128, help="PCA components for nearest neighbours")
    parser.add_argument("--nearest-rows", type=positive, help="training rows indexed (default: all)")
    parser.add_argument("--render", choices=("fast", "eager"), default="fast",
                        help="synth render path (default fast: compiled ahead of time, built on first use)")
    parser.add_argument("--resume", action="store_true", help="keep the per-target records already written")
    parser.add_argument("--keep-unpitched-from", type=Path, metavar="RECORDS",
                        help="start the records from another run's (its inverse_quality.partial.jsonl, same "
                             "settings), keeping only its targets without a clear pitch: after a change of predict "
                             "that acts only where the target has one (e.g. the match distance's sub-octave term)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    args.methods = list(dict.fromkeys(args.methods or [m for m, spec in METHODS.items()
                                                       if spec.default and (m != "flow" or args.flow)]))
    if "flow" in args.methods and not args.flow:
        parser.error("method flow needs --flow runs/FLOW/best (a checkpoint from `inverse train-flow`)")
    try:
        sampling_config(args).validate()
    except ValueError as exc:
        parser.error(str(exc))
    return args


#: Sampling settings that act only where the target has a clear pitch: --keep-unpitched-from ignores them.
PITCH_ONLY_SETTINGS = ("pitch_fill",)
#: The hybrid methods' own options (``invocation["hybrid"]``) that their results depend on. The settings line
#: leaves them out (records of other methods do not depend on them), so each target line stores those its hybrid
#: methods ran with (``"options"``), and ``--resume`` refuses kept records that ran with others.
HYBRID_RESULT_OPTIONS = ("retrieved", "refine_steps", "refine_rows", "refine_lr", "pitch_step", "retune", "fine_pitch",
                         "index_data")


def method_options(methods: list[str], hybrid: dict | None) -> dict[str, dict]:
    """The options each of ``methods`` records with its results (``hybrid``: the invocation's hybrid options)."""
    if hybrid is None:
        return {}
    own = {k: hybrid[k] for k in HYBRID_RESULT_OPTIONS}
    if isinstance(own["index_data"], dict):  # the index's rows by content: another checkout's path is the same data
        own["index_data"] = {k: v for k, v in own["index_data"].items() if k != "path"}
    return {m: own for m in methods if m.startswith("hybrid")}


def check_kept_options(records: list[dict], options: dict[str, dict]) -> None:
    """Refuse (``SystemExit``) kept records of a method in ``options`` that ran with other options than these.
    Records written before target lines stored options carry none and are kept as they are."""
    clashes = [(r["name"], m, k) for r in records for m, ours in options.items()
               for k, theirs in r.get("options", {}).get(m, {}).items() if k in ours and theirs != ours[k]]
    if clashes:
        name, method, key = clashes[0]
        option = "--index (its training rows)" if key == "index_data" else f"--{key.replace('_', '-')}"
        raise SystemExit(f"error: the kept records of {method} ran with another {option} (first: target {name}; "
                         f"{len(clashes)} clash(es)); resume with the same options, or use another --out")


def _but_pitch_only(settings: dict | None) -> dict | None:
    """``settings`` without :data:`PITCH_ONLY_SETTINGS` (None stays None)."""
    if settings is None:
        return None
    sampling = {k: v for k, v in settings.get("sampling", {}).items() if k not in PITCH_ONLY_SETTINGS}
    return {**settings, "sampling": sampling}


def seed_unpitched(partial: Path, source: Path, settings: dict) -> int:
    """Start ``partial`` from ``source``'s header, invocations and the records of its targets whose pitch was
    tracked and not clear (what a change acting only on pitched targets leaves as it was); returns how many."""
    lines = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    if not lines or _but_pitch_only(lines[0].get("settings")) != _but_pitch_only(settings):
        raise SystemExit(f"error: {source} was written with other settings; --keep-unpitched-from needs the same "
                         f"(but for {', '.join(PITCH_ONLY_SETTINGS)})")
    unpitched = {(r["group"], r["name"]) for r in merge_records(lines[1:])
                 if "target_pitch" in r and not r["target_pitch"].get("clear")}
    kept = [line for line in lines[1:] if "invocation" in line or (line.get("group"), line.get("name")) in unpitched]
    partial.write_text("".join(json.dumps(line) + "\n" for line in [{"settings": settings}, *kept]))
    return len(unpitched)


def sampling_config(args: argparse.Namespace) -> SamplingConfig:
    """The product's sampling settings as the command line sets them."""
    return SamplingConfig(pool=args.pool, samples=args.samples, seed=args.seed, expand=args.expand,
                          retrieved=args.retrieved, transpose=args.transpose, spread=args.spread,
                          plain=args.plain, refit=args.refit, match_within=args.match_within,
                          chords=args.chords, glides=args.glides, modulation=args.modulation,
                          pitch_rounds=args.pitch_rounds, pitch_check=not args.no_pitch_check,
                          pitch_fill=args.pitch_fill)


def record_settings(args: argparse.Namespace, train_fingerprint: str, targets_fingerprint: str) -> dict:
    """What the records depend on, by content (the weights' digests, the data's fingerprints), so that records kept
    in the repository resume in any checkout and never survive a retrained model, flow or index at the same path."""
    index_weights = checkpoint.paths(args.index)[0]
    settings = {"model": file_sha256(checkpoint.paths(args.model)[0]),
                "index": file_sha256(index_weights) if index_weights.exists() else None,
                "train": train_fingerprint, "targets": targets_fingerprint,
                "sampling": {k: v for k, v in asdict(sampling_config(args)).items()
                             if k != "retrieved"},  # the hybrid methods' own option: in the invocation
                "pca": args.pca, "nearest_rows": args.nearest_rows}
    if args.flow:  # the flow's pool replaces the latent samples (records without a flow keep their settings)
        settings["flow"] = file_sha256(checkpoint.paths(args.flow)[0])
    return settings


def open_records(partial: Path, settings: dict, resume: bool, invocation: dict, options: dict[str, dict] | None = None
                 ) -> tuple[list[dict], list[dict]]:
    """The target records and invocations (command lines, start times, load) of an earlier run with the same
    ``settings`` (``--resume``) whose records of the methods in ``options`` ran with those options
    (:func:`check_kept_options`), else of a fresh file; this ``invocation`` is appended to both."""
    lines = []
    if resume and partial.exists():
        lines = [json.loads(line) for line in partial.read_text().splitlines() if line.strip()]
        if not lines or lines[0].get("settings") != settings:
            found = lines[0].get("settings") if lines else None
            raise SystemExit(f"error: {partial} was written with other settings, so its records cannot be kept:\n"
                             f"  it has {json.dumps(found)}\n  this run {json.dumps(settings)}\n"
                             "run without --resume to start again")
        check_kept_options(merge_records(lines[1:]), options or {})
    else:
        partial.write_text(json.dumps({"settings": settings}) + "\n")
    with partial.open("a") as handle:
        handle.write(json.dumps({"invocation": invocation}) + "\n")
    invocations = [line["invocation"] for line in lines if "invocation" in line]
    return merge_records(lines[1:]), [*invocations, invocation]


def evaluate_all(args: argparse.Namespace, context: Context, data: SpectrogramDataset, partial: Path,
                 records: list[dict], options: dict[str, dict] | None = None) -> tuple[list[dict], list[str]]:
    """Run the chosen methods on every target that lacks them, appending a line per target to ``partial`` (with
    ``options``' entries of the methods it ran: :func:`method_options`). Returns all records (earlier ones included)
    and the external tools that are missing."""
    options = options or {}
    build = render_build(context.render_path)  # every method renders its candidates on this path
    base_config = sampling_config(args)
    by_key = {(r["group"], r["name"]): r for r in records}

    def todo(group: str, name: str) -> list[str]:
        return [m for m in args.methods if m not in by_key.get((group, name), {"methods": {}})["methods"]]

    def run(group: str, name: str, index: int, number: int, target: Target, truth: torch.Tensor | None) -> None:
        earlier = by_key.get((group, name), {"group": group, "name": name, "methods": {}})
        names = todo(group, name)
        line = {"group": group, "name": name,
                **evaluate_target(context.for_target(index, base_config), names, target, truth,
                                  number < args.pitch_targets, earlier.get("target_pitch"), not args.no_pyin)}
        if any(m in options for m in names):
            line["options"] = {m: options[m] for m in names if m in options}
        line["render_build"] = build
        with partial.open("a") as handle:
            handle.write(json.dumps(line) + "\n")
        by_key[(group, name)] = merge_records([earlier, line])[0]

    def unread(group: str, name: str) -> bool:
        """A clear-pitch target judged before pYIN's reading of targets was kept (earlier runs)."""
        pitch = by_key.get((group, name), {}).get("target_pitch", {})
        return not args.no_pyin and bool(pitch.get("clear")) and "pyin_f0_hz" not in pitch

    def read_target(group: str, name: str, target: Target) -> None:
        line = {"group": group, "name": name, "methods": {},
                "target_pitch": with_pyin_reading(by_key[(group, name)]["target_pitch"],
                                                  float(pyin_pitch(target.audio[None])[0]))}
        with partial.open("a") as handle:
            handle.write(json.dumps(line) + "\n")
        by_key[(group, name)] = merge_records([by_key[(group, name)], line])[0]

    for i in tqdm(range(min(args.n, len(data))), desc="in-domain targets", disable=args.quiet, unit="target"):
        if todo("in_domain", f"row{i}") or unread("in_domain", f"row{i}"):
            _, truth = data[i]
            target = Target.from_audio(render(truth[None])[0], source=f"{args.targets}:row{i}")
            if todo("in_domain", f"row{i}"):
                run("in_domain", f"row{i}", i, i, target, truth)
            else:
                read_target("in_domain", f"row{i}", target)
    missing = missing_tools()
    if missing:
        print(f"out-of-domain targets skipped: missing {', '.join(missing)}", file=sys.stderr)
    elif args.ood_per_source:
        with tempfile.TemporaryDirectory() as folder:
            ood = external_targets(Path(folder), args.ood_per_source)
        for sound in tqdm(ood, desc="out-of-domain targets", disable=args.quiet, unit="target"):
            if todo(sound.source, sound.name):
                index = OOD_INDEX + 10_000 * OUT_OF_DOMAIN.index(sound.source) + sound.number
                run(sound.source, sound.name, index, sound.number, sound.target, None)
            elif unread(sound.source, sound.name):
                read_target(sound.source, sound.name, sound.target)
    return list(by_key.values()), missing


def reported_methods(records: list[dict], chosen: list[str]) -> list[str]:
    """The methods this invocation ran and those earlier ones recorded, registry order first."""
    recorded = {name for r in records for name in r["methods"]}
    known = [name for name in METHODS if name in chosen or name in recorded]
    return known + sorted(recorded - set(known))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wall = time.perf_counter()
    load_start = load_average()
    torch.set_grad_enabled(False)

    model, info = checkpoint.load(args.model)
    model.eval()
    train_attrs = dataset_attrs(args.train)
    data = SpectrogramDataset(args.targets, audio=False)
    model_train = info.get("data", {}).get("train", {})
    if data.attrs.seed in (train_attrs.seed, *checkpoint.training_seeds(info.get("data", {}))):
        raise SystemExit(f"error: {args.targets} was rendered with seed {data.attrs.seed}, a training seed "
                         "(targets must be held out)")
    train_is_models = model_train.get("fingerprint") == train_attrs.fingerprint()
    if not train_is_models and not model_train.get("online"):  # train-online's rows were never a file
        print(f"warning: {args.train} is not the model's training set (fingerprint {train_attrs.fingerprint()}, "
              f"the model's {model_train.get('fingerprint')}); nearest neighbours will search other data",
              file=sys.stderr)
    invocation = {"command": command_line(), "commit": git_commit(), "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                  "load_average": load_start, "render": args.render}
    if any(name.startswith("hybrid") for name in args.methods):  # their own options, like --flow's checkpoint
        index = RetrievalIndex.load(args.index)
        invocation["hybrid"] = {"index": args.index, "retrieved": args.retrieved, "refine_steps": args.refine_steps,
                                "refine_rows": args.refine_rows,
                                "refine_lr": args.refine_lr, "pitch_step": args.pitch_step, "retune": args.retune,
                                "fine_pitch": args.fine_pitch,
                                "index_data": index.info["data"], "flow": args.flow}
    nearest = None
    if any(name.startswith(BASELINE) for name in args.methods):
        nearest = NearestBaseline(args.train, args.pca, args.nearest_rows, not args.quiet)
        invocation["nearest"] = {"rows": nearest.rows, "pca_components": int(nearest.pca.n_components_),
                                 "pca_explained": nearest.explained}
    context = Context(model, nearest, train_attrs.prior, render_path=args.render, options=args)
    if "hybrid" in invocation:
        context.shared["index"] = index  # loaded once, for retrieval_index()

    settings = record_settings(args, train_attrs.fingerprint(), data.fingerprint)
    args.out.mkdir(parents=True, exist_ok=True)
    partial = args.out / "inverse_quality.partial.jsonl"
    if args.keep_unpitched_from and not (args.resume and partial.exists()):
        invocation["kept_unpitched"] = {"from": str(args.keep_unpitched_from),
                                        "targets": seed_unpitched(partial, args.keep_unpitched_from, settings)}
    options = method_options(args.methods, invocation.get("hybrid"))
    records, invocations = open_records(partial, settings, args.resume or bool(args.keep_unpitched_from), invocation,
                                        options)
    records, missing = evaluate_all(args, context, data, partial, records, options)

    names = reported_methods(records, args.methods)
    titles = {"in_domain": f"In-domain: held-out synth patches ({args.targets.name}, seed {data.attrs.seed}, "
                           f"prior {data.attrs.prior})",
              "sox": "Out-of-domain: sox synth notes", "fluidsynth": "Out-of-domain: fluidsynth GM instruments",
              "espeak-ng": "Out-of-domain: espeak-ng speech"}
    groups = {group: aggregate(records, (group,), names) for group in GROUPS}
    tables = {**groups, "out_of_domain": aggregate(records, OUT_OF_DOMAIN, names)}
    contenders = [m for m in names if m in METHODS and METHODS[m].verdict]
    nearest_info = next((run["nearest"] for run in reversed(invocations) if "nearest" in run), {})
    results = {"command": command_line(), "model": args.model, "flow": args.flow, "model_data": info.get("data"),
               "train": str(args.train), "train_prior": train_attrs.prior,
               "train_fingerprint": train_attrs.fingerprint(),
               "model_train_fingerprint": model_train.get("fingerprint"), "train_is_models": train_is_models,
               "targets": str(args.targets), "targets_prior": data.attrs.prior, "methods": names,
               "samples": args.samples, "pool": args.pool, "expand": args.expand, "pitch_targets": args.pitch_targets,
               "nearest_rows": nearest_info.get("rows"), "pca_components": nearest_info.get("pca_components"),
               "pca_explained": nearest_info.get("pca_explained"), "render": invocation["render"],
               "missing_tools": missing, "group_titles": titles, "groups": groups,
               "out_of_domain": tables["out_of_domain"],
               "verdicts": [asdict(v) for v in verdicts(tables, contenders)], "resumed": len(invocations) > 1,
               "invocations": invocations, "machine": machine_info(),
               "load_average": {"start": load_start, "end": load_average()}, "wall_s": time.perf_counter() - wall}
    json_path, md_path = write_results(args.out, "inverse_quality", results, markdown(results))
    png = figure(results, args.out / "inverse_quality.png")
    print(md_path.read_text())
    print(f"wrote {json_path}, {md_path} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
