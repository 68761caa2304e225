"""Candidate refinement: move each of the network's candidates closer to the target.

- ``gradient``: Adam on the match distance (:func:`synth.perceptual.match_distance`), back-propagated through
  the differentiable synth (continuous parameters only; discrete ones stay as they are). Descending the
  weaker ``distance_db`` instead lowered it on 12 of 12 targets while the perceptual distance got worse on 10;
- ``cmaes``: CMA-ES (:mod:`inverse.cma`) warm-started at the candidate (continuous parameters), a budget
  of renders per candidate.

Both keep, per candidate, the best point seen *including the starting point*, so refinement never
leaves a candidate farther from the target than it started. :func:`refine_candidates` is the pipeline around
them: it refines the best mutually different rows of a scored pool (16, one chunk of the render: the same
compiled gradient evaluations as 10), retunes the best refined one's oscillators (:mod:`inverse.retune`), tunes
the note of the best ones in cents where asked (:mod:`inverse.fine_pitch`), sets their LFOs to the target's vibrato
and tremolo where it has one (:mod:`inverse.modulation`), expands the refined ones by the synth's symmetries, and
chooses the returned candidates from all of them. Given a time budget (``finish_by``: ``inverse predict
--seconds``), the gradient steps stop where the next one and what follows it would not fit (:func:`reserve_steps`),
and the pitch check's rounds where the next one would not (:func:`check_deadline`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from inverse.fine_pitch import tune_all
from inverse.modulation import modulated_copies
from inverse.plain import gain_matched
from inverse.plain_adam import PlainAdam
from inverse.retune import retune
from inverse.sampling import Candidates, SamplingConfig, checks_pitch, choose, expand_by_symmetry, select_diverse
from inverse.target import Scores, Target, as_target, rendered_match, score
from synth.params import CONTINUOUS_INDICES, PARAM_INDEX

REFINE_METHODS = ("none", "gradient", "cmaes")
_CONTINUOUS = list(CONTINUOUS_INDICES)
_NOTE = _CONTINUOUS.index(PARAM_INDEX["note_pitch"])  # note_pitch's column among them


@dataclass(frozen=True)
class RefineConfig:
    # none | gradient | cmaes. gradient by default: on 16 held-out targets it took the best-of-10 MSS of the
    # hybrid pool from 0.360 to 0.309 in ~10 s (20 steps: 0.293 in ~21 s; benchmarks/results/inverse_quality.md)
    method: str = "gradient"
    # gradient: Adam steps (one render + backward pass per candidate each). 20 against 10 with the rest of predict's
    # default (pitch check and fill, match fill): best-of-10 MSS -5.1 % on the first 100 held-out targets (80 better,
    # 8 worse), as many of the ten on a clear pitch or more, diversity unchanged, ~5 s more per answer
    # (benchmarks/results/predict_steps20_fill/); 15: -3.2 % on 24 validation targets
    steps: int = 20  # 0: the starting points rescored, retuned and expanded, no step taken
    lr: float = 0.01  # gradient: Adam step size, in normalised parameter units
    # gradient: note_pitch's steps as a share of the others'. Adam's first step moves every parameter by about lr;
    # for note_pitch (72 semitones) that is 0.72 semitones, a move off the pitch the pool's candidates were put on.
    # 0.1 against 1 (benchmarks/results/pitch_step/, paired): best-of-10 MSS -4.8 % on 100 held-out in-domain targets
    # (67 better, 33 worse), -23.3 % on 15 sox notes (12 / 2), -12.0 % on 15 fluidsynth notes (15 / 0), -0.5 % on 15
    # espeak-ng voices; diversity -1.9 % in-domain, +0.5 to +8.3 % out of domain; no slower
    pitch_step: float = 0.1
    budget: int = 32  # cmaes: renders per candidate
    sigma0: float = 0.05  # cmaes: initial step size, in normalised parameter units
    seed: int = 0  # cmaes: sampler seed (candidate k uses seed + k)
    rows: int = 16  # best mutually different pool rows refined: one chunk of the render (synth.voice.CHUNK_ROWS)
    # best refined ones retuned after (inverse.retune: their oscillators' discrete pitch offsets; ~2 s each). 1: with
    # 10 steps, best-of-10 MSS -2.4 % on 22 validation targets (15 better, 6 worse); 3 did no better than 1 on 10
    retune: int = 1
    # best refined (and retuned) ones whose note is then tuned in cents, the others moved onto the tuning found
    # (inverse.fine_pitch; 32 renders each, one per other). 1 against 0 on 30 held-out in-domain targets and 15 each of
    # sox, fluidsynth, espeak-ng: best-of-10 MSS -0.3 / -4.2 / -0.7 / -0.1 %, diversity -1.9 % in-domain, ~0.5-1 s
    # (benchmarks/results/fine_pitch/): off by default; on bass notes it pays (benchmarks/results/low_notes/)
    fine_pitch: int = 0

    def validate(self) -> None:
        if self.method not in REFINE_METHODS:
            raise ValueError(f"unknown refinement {self.method!r}; expected one of {', '.join(REFINE_METHODS)}")
        if self.steps < 0 or self.budget < 1 or self.rows < 1:
            raise ValueError(f"steps must be >= 0, budget and rows >= 1, got steps={self.steps}, "
                             f"budget={self.budget}, rows={self.rows}")
        if not 0 <= self.retune <= self.rows:
            raise ValueError(f"retune must be between 0 and rows ({self.rows}), got {self.retune}")
        if not 0 <= self.fine_pitch <= self.rows:
            raise ValueError(f"fine_pitch must be between 0 and rows ({self.rows}), got {self.fine_pitch}")
        if self.lr <= 0 or self.sigma0 <= 0:
            raise ValueError(f"lr and sigma0 must be positive, got lr={self.lr}, sigma0={self.sigma0}")
        if not 0.0 <= self.pitch_step <= 1.0:
            raise ValueError(f"pitch_step must be between 0 and 1, got {self.pitch_step}")


def refine_gradient(params: torch.Tensor, target: Target | torch.Tensor, steps: int = 10, lr: float = 0.01,
                    deadline: float | None = None, render_path: str = "auto",
                    on_step: Callable[[int], None] | None = None,
                    reserve: float | None = None, pitch_step: float = 1.0,
                    stop: Callable[[], bool] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``steps`` Adam steps on every candidate's continuous parameters (``Tensor[K, 100]``, normalised).

    Returns the best point seen per candidate and its match distance (``Tensor[K, 100]``, ``Tensor[K]``);
    the starting point counts, so no distance gets worse. Costs ``steps + 1`` renders per candidate.
    ``deadline`` (a ``time.perf_counter()`` value) stops earlier, checked after each evaluation: with ``reserve``
    None once it has passed; with ``reserve`` (steps' worth of time kept for what follows) as soon as another step
    and the reserve would end after it, timed by the steps so far (:func:`step_seconds`). Stopped after evaluation
    ``j``, the result is bit for bit that of ``steps=j``.
    ``render_path``: :func:`synth.render`'s (the fast path needs its gradient library, see
    :mod:`synth.fast_render`; fewer than :data:`EAGER_GRADIENT_BELOW` rows step on the eager path, faster there:
    :func:`gradient_path`). ``on_step(step)`` is called after evaluation ``step`` (0 .. ``steps``).
    ``pitch_step`` scales each of Adam's moves of ``note_pitch`` (1: the same step as every other parameter).
    ``stop()``, checked after each evaluation like the deadline, ends the steps there when true (Ctrl-C in ``inverse
    predict``: :mod:`inverse.finish_early`).
    """
    target = as_target(target)
    params = params.detach().float()
    render_path = gradient_path(render_path, params.shape[0])
    x = params[:, _CONTINUOUS].clone().requires_grad_(True)
    optimizer = PlainAdam(x, lr=lr)  # torch.optim.Adam's update without its import of torch._dynamo
    best, best_d = params.clone(), None
    started = time.perf_counter()
    for step in range(steps + 1):
        with torch.enable_grad():  # also when the caller runs under torch.no_grad()
            current = params.clone()
            current[:, _CONTINUOUS] = x.clamp(0.0, 1.0)
            d = rendered_match(current, target, render_path)
            total = d.sum()
        seen = d.detach()
        if best_d is None:
            best_d = seen.clone()
        else:
            better = seen < best_d
            best[better], best_d[better] = current.detach()[better], seen[better]
        if on_step is not None:
            on_step(step)
        if step == steps or (deadline is not None and _out_of_time(started, step, deadline, reserve)) or (
                stop is not None and stop()):
            break
        optimizer.zero_grad()
        total.backward()
        note = x.detach()[:, _NOTE].clone() if pitch_step != 1.0 else None  # (1.0: a plain Adam step, its bytes)
        optimizer.step()
        if note is not None:
            with torch.no_grad():
                x[:, _NOTE] = note + (x[:, _NOTE] - note) * pitch_step
    return best, best_d


#: Fewer rows than this take their gradient steps on the eager synth: the fast render's gradient renders a fixed chunk
#: of 16 rows (synth.voice.CHUNK_ROWS), so a few rows cost as much as 16. A step's match forward and backward on the
#: 2-core AMD EPYC (8 December, median of 3 after a warm-up), eager vs fast: 1 row 0.065 vs 0.31 s, 2 rows 0.10 vs
#: 0.29 s, 3 rows 0.15 vs 0.29 s, 6 rows 0.25 vs 0.31 s, 8 rows 0.34-0.40 vs 0.33 s, 16 rows 0.70 vs 0.48 s.
EAGER_GRADIENT_BELOW = 7


def gradient_path(render_path: str, rows: int) -> str:
    """The render path of :func:`refine_gradient`'s steps on ``rows`` rows asked to render on ``render_path``: eager
    below :data:`EAGER_GRADIENT_BELOW` rows where the fast render was asked for or would be chosen (``fast``,
    ``auto``), the faster path there (the two agree within float rounding); else ``render_path``."""
    return "eager" if rows < EAGER_GRADIENT_BELOW and render_path in ("auto", "fast") else render_path


def step_seconds(started: float, step: int, now: float) -> float:
    """One gradient step's time, judged after evaluation ``step`` of :func:`refine_gradient` begun at ``started``
    (``time.perf_counter()`` values): the first evaluation has no backward pass, about half a step."""
    return (now - started) / (step + 0.5)


def _out_of_time(started: float, step: int, deadline: float, reserve: float | None) -> bool:
    now = time.perf_counter()
    if reserve is None:
        return now >= deadline
    return now + (1.0 + reserve) * step_seconds(started, step, now) > deadline


def refine_cmaes(params: torch.Tensor, target: Target | torch.Tensor, start_distances: torch.Tensor, budget: int = 32,
                 sigma0: float = 0.05, seed: int = 0, deadline: float | None = None, render_path: str = "auto",
                 on_candidate: Callable[[int], None] | None = None,
                 stop: Callable[[], bool] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """CMA-ES (:func:`inverse.cma.cma_minimize`) warm-started at each candidate's continuous parameters,
    ``budget`` renders per candidate (on ``render_path``, :func:`synth.render`), discrete parameters fixed.

    ``start_distances`` ``Tensor[K]``: the candidates' current distances (no render spent on them).
    Returns the best point seen per candidate and its distance (never worse than the start). With a
    ``deadline`` (``time.perf_counter()`` value), each candidate gets an equal share of the time left.
    ``on_candidate(k)`` is called when candidate ``k`` is done. ``stop()`` true ends the search after the generation
    under way; the candidates not reached stay as they were.
    """
    from inverse.cma import cma_minimize  # scipy.stats: 1.3 s to import, so only when CMA-ES runs

    target = as_target(target)
    best, best_d = params.detach().clone().float(), start_distances.detach().clone().float()
    count = params.shape[0]
    for k in range(count):
        share = None if deadline is None else time.perf_counter() + (deadline - time.perf_counter()) / (count - k)
        def evaluate(points: np.ndarray, k: int = k) -> np.ndarray:
            batch = best[k].expand(points.shape[0], -1).clone()
            batch[:, _CONTINUOUS] = torch.from_numpy(points).float()
            return score(batch, target, render_path=render_path).match.numpy()

        points, values = cma_minimize(best[k, _CONTINUOUS].double().numpy(), sigma0, evaluate, budget, seed + k,
                                      share, stop=stop)
        if values.size:  # (none where no time was left for this candidate)
            i = int(np.argmin(values))
            if values[i] < float(best_d[k]):
                best[k, _CONTINUOUS] = torch.from_numpy(points[i]).float()
                best_d[k] = float(values[i])
        if on_candidate is not None:
            on_candidate(k)
    return best, best_d


#: Seconds each stage of `inverse predict` took on the demo target (gradient refinement of 16 rows with one candidate
#: retuned, fast render, profiled on the 2-core AMD EPYC VM on 4 December): the scored pool before
#: :func:`refine_candidates`, and in it a gradient step of the refined rows, scoring the refined rows, the retune, the
#: symmetric variants, the choice with its pitch check. Their ratios plan a time budget (:func:`reserve_steps`,
#: :func:`refinement_fits`) and place the progress stages (:func:`stage_shares`). ``tail``, a part of ``choose``:
#: what follows the pitch check (the fill and the spread), the longest of 6 clearly pitched targets (0.47 s at 0.45 s
#: a step: 0.50 s at this profile's step; the demo's 0.37 s), kept free of the check's rounds under a budget
#: (:func:`check_deadline`). ``fine_pitch``: one candidate's fine pitch with the others moved onto its tuning
#: (:mod:`inverse.fine_pitch`), timed on 5 December beside the gradient steps on the demo target and two sox notes
#: (0.54-0.57 s against 0.57-0.63 s a step), scaled to this profile's step. ``swing``: the refined candidates'
#: copies in step with the target's vibrato or tremolo (:func:`swung`), timed on 5 December beside
#: the gradient steps on a sox tremolo, a vibrato sawtooth and a fluidsynth violin (0.24 s against 0.59-0.63 s a
#: step), scaled likewise. ``choose_quick``: the choice of the quick answer (:mod:`inverse.quick`: one round of the
#: pitch check, no spread), the longest of 5 clearly pitched targets timed twice on 8 December (0.40-0.68 s; the
#: demo's, two sox and two fluidsynth notes) beside 16-row gradient steps of 0.47-0.52 s; ``pool_quick``: the quick
#: answer's scored pool (16 flow samples and 16 retrieved rows and their additions) on those targets, 0.83-1.1 s.
STAGE_SECONDS = {"pool": 2.82, "step": 0.48, "rescore": 0.25, "retune": 0.68, "expand": 0.61, "choose": 1.23,
                 "tail": 0.50, "fine_pitch": 0.44, "swing": 0.18, "choose_quick": 0.68, "pool_quick": 1.0}


def step_profile(rows: int) -> float:
    """A gradient step's seconds on ``rows`` refined rows in :data:`STAGE_SECONDS`' profile: its ``step`` (16 rows, one
    chunk of the fast render) from :data:`EAGER_GRADIENT_BELOW` rows up; fewer step on the eager synth
    (:func:`gradient_path`), about 0.02 s and 0.039 s a row (measured beside a 16-row fast step of 0.48 s: the
    times at :data:`EAGER_GRADIENT_BELOW`)."""
    return STAGE_SECONDS["step"] if rows >= EAGER_GRADIENT_BELOW else 0.02 + 0.039 * rows


def stage_shares(steps: int, rows: int = RefineConfig.rows) -> dict[str, float]:
    """Where the retune, expand and choose stages of :func:`refine_candidates` start, as shares of its time with
    ``steps`` gradient steps on ``rows`` rows (:data:`STAGE_SECONDS`, :func:`step_profile`): what its progress
    reports."""
    seconds = STAGE_SECONDS
    refine = step_profile(rows) * steps + seconds["rescore"]
    total = refine + seconds["retune"] + seconds["expand"] + seconds["choose"]
    return {"retune": refine / total, "expand": (refine + seconds["retune"]) / total,
            "choose": (total - seconds["choose"]) / total}


def reserve_steps(config: RefineConfig, pitch_check: bool = True, swing: bool = False,
                  sampling: SamplingConfig | None = None) -> float:
    """What follows the gradient steps in :func:`refine_candidates` (scoring the refined rows, the retune where
    ``config.retune`` asks for one, the fine pitch of ``config.fine_pitch`` candidates, the LFOs set to the target's
    swing where ``swing`` says they will be, the symmetric variants unless ``sampling.expand`` is 0, the
    choice: with its pitch check where ``pitch_check`` says one will run, else only what follows the check,
    ``tail``; the quick answer's, ``choose_quick``, where ``sampling`` has no spread and one pitch round at most), in
    gradient steps' worth of time (:data:`STAGE_SECONDS`; a step of ``config.rows`` rows, :func:`step_profile`):
    kept free when the steps fill a time budget. ``sampling`` None: predict's defaults."""
    seconds = STAGE_SECONDS
    choice = seconds["choose"] if pitch_check else seconds["tail"]
    expand = seconds["expand"]
    if sampling is not None:
        expand = expand if sampling.expand else 0.0
        choice = seconds["choose_quick"] if not sampling.spread and sampling.pitch_rounds <= 1 else choice
    after = seconds["rescore"] + (seconds["retune"] if config.retune else 0.0) + expand + choice
    after += seconds["fine_pitch"] * config.fine_pitch + (seconds["swing"] if swing else 0.0)
    return after / step_profile(config.rows)


#: Sampled and retrieved rows of the pools :data:`STAGE_SECONDS` timed: predict's (``pool``) and the quick answer's
#: (``pool_quick``, :mod:`inverse.quick`).
POOL_ROWS = SamplingConfig.pool + SamplingConfig.retrieved
QUICK_POOL_ROWS = 16 + 16


def pool_profile(size: int = POOL_ROWS) -> float:
    """The scored pool's seconds in :data:`STAGE_SECONDS`' profile for a pool of ``size`` sampled and retrieved rows
    (their additions included): ``pool`` for :data:`POOL_ROWS`, ``pool_quick`` for :data:`QUICK_POOL_ROWS`, on the
    line through them."""
    seconds = STAGE_SECONDS
    per_row = (seconds["pool"] - seconds["pool_quick"]) / (POOL_ROWS - QUICK_POOL_ROWS)
    return seconds["pool_quick"] + (size - QUICK_POOL_ROWS) * per_row


def pool_step_seconds(pool_seconds: float, rows: int = RefineConfig.rows, size: int = POOL_ROWS) -> float:
    """A gradient step's time on ``rows`` rows judged by the scored pool's (``pool_seconds`` for ``size`` sampled
    and retrieved rows, against :data:`STAGE_SECONDS`' profile: :func:`pool_profile`, :func:`step_profile`),
    before any step is timed."""
    return pool_seconds * step_profile(rows) / pool_profile(size)


def refinement_fits(config: RefineConfig, pool_seconds: float, seconds_left: float, pitch_check: bool = True,
                    sampling: SamplingConfig | None = None) -> bool:
    """Whether a gradient step and what follows it (:func:`reserve_steps`, ``pitch_check`` and ``sampling`` as
    there) fit in ``seconds_left``, their time judged by the scored pool's (:func:`pool_step_seconds`; its size
    ``sampling``'s pool and retrieved rows, predict's defaults where None)."""
    size = POOL_ROWS if sampling is None else sampling.pool + sampling.retrieved
    return seconds_left >= pool_step_seconds(pool_seconds, config.rows, size) * (
        1.0 + reserve_steps(config, pitch_check, sampling=sampling))


def check_deadline(finish_by: float | None, per_step: float, rows: int = RefineConfig.rows) -> float | None:
    """When the pitch check's rounds must end for the fill and spread after them (:data:`STAGE_SECONDS`' ``tail``,
    scaled by this machine's gradient step on ``rows`` rows, ``per_step`` seconds, against the profile's,
    :func:`step_profile`) to finish by ``finish_by`` (None: no budget)."""
    if finish_by is None:
        return None
    return finish_by - per_step * STAGE_SECONDS["tail"] / step_profile(rows)


def swung(params: torch.Tensor, match: torch.Tensor, target: Target, render_path: str = "auto"
          ) -> tuple[torch.Tensor, Scores]:
    """For each row of ``params`` ``Tensor[K, 100]`` (normalised; ``match`` ``Tensor[K]`` its match distances to
    ``target``), the closest of its copies in step with the target's swings (``target.swings``,
    :func:`inverse.modulation.modulated_copies`; gain-matched to the target) where that is closer than the row:
    refinement's steps move an LFO's rate and phase off the target's, or never had them.

    Renders on ``render_path`` (:func:`synth.render`). Returns those rows ``Tensor[R, 100]`` (R <= K, in the order of
    their sources) and their :class:`~inverse.target.Scores`."""
    count = params.shape[0]
    copies = modulated_copies(params, *target.swings)
    if copies.shape[0] == 0:
        return params[:0].clone(), score(params[:0], target)
    copies = gain_matched(copies, target.audio, render_path)
    scores = score(copies, target, render_path=render_path)
    closest = scores.match.reshape(-1, count).min(dim=0)
    rows = torch.arange(count)
    kept = closest.values < match
    index = (closest.indices * count + rows)[kept]
    return copies[index], scores.select(index)


def refine_candidates(params: torch.Tensor, scores: Scores, point: torch.Tensor, target: Target | torch.Tensor,
                      config: RefineConfig, sampling: SamplingConfig, render_path: str = "auto",
                      progress: Callable[[float, str], None] | None = None,
                      finish_by: float | None = None, pool_seconds: float = 0.0,
                      stop: Callable[[], bool] | None = None) -> Candidates:
    """From a scored pool (:func:`inverse.sampling.scored_pool`: params ``Tensor[P, 100]``, their
    :class:`~inverse.target.Scores`, the point estimate ``Tensor[100]``), refine the best ``config.rows``
    mutually different rows (``sampling.min_distance`` apart; one chunk of the render), render and score the refined
    ones (the best ``config.retune`` of them retuned, :func:`inverse.retune.retune`, what that finds added; the best
    ``config.fine_pitch`` of those tuned in cents, :func:`inverse.fine_pitch.tune_all`, the others moved onto that
    tuning, what comes closer added), expand the best ``sampling.expand`` of refined and pool rows by the synth's
    symmetries (:func:`~inverse.sampling.expand_by_symmetry`) and choose ``sampling.samples`` that sound alike and
    differ in parameters (:func:`~inverse.sampling.choose`). With method ``none``, only the choice.

    ``render_path`` (:func:`synth.render`) renders the gradient steps, CMA-ES's points and everything scored.
    The rest of the pool stays eligible (on 60 validation targets: diversity 0.310 against 0.304 when only the
    refined rows and their starting points were, best-of-10 MSS unchanged on 59 of 60 targets); on a clearly
    pitched target the pitch check then replaces those off its pitch (:func:`~inverse.pitch_check.check_pitch`;
    on the 17 such validation targets 114 of the 170 returned on the pitch, 76 before).
    ``pool_index`` of the result indexes ``[refined..., starting points..., the rest of the pool..., retuned...,
    tuned..., swung..., variants...]`` (swung: where the target's pitch or level swings periodically and
    ``sampling.modulation`` is on, copies of the refined, retuned and tuned ones with their LFOs in step with it,
    those closer than their source: :func:`swung`). ``progress(fraction, stage)`` is called as each stage starts,
    with the share of this function's work done before it (:func:`stage_shares`).

    ``finish_by`` (a ``time.perf_counter()`` value; not with CMA-ES) is a time budget: the gradient steps stop, up
    to ``config.steps``, where another step and what follows it (:func:`reserve_steps`) would end after it, and the
    pitch check's rounds where one would leave too little for what follows them (:func:`check_deadline`, judged by
    the steps' time, or without steps by ``pool_seconds``, the scored pool's). The result's ``refined_steps`` says
    how many steps were taken and its ``pitch.stopped_after`` where the check stopped: ``config.steps`` and
    ``sampling.pitch_rounds`` set to those give the same answer again. ``stop()`` true ends the gradient steps after
    the current one (:func:`refine_gradient`; CMA-ES: after its generation under way, :func:`refine_cmaes`), and the
    answer is finished from there the same way.
    """
    config.validate()
    if finish_by is not None and config.method == "cmaes":
        raise ValueError("a time budget plans gradient steps; CMA-ES has its budget of renders")
    target = as_target(target)
    report = progress or (lambda fraction, stage: None)
    if config.method == "none":
        report(0.0, f"choosing {sampling.samples} of {params.shape[0]} candidates")
        return choose(params, scores, point, sampling, target, render_path,
                      check_deadline(finish_by, pool_step_seconds(pool_seconds)))
    starts, _ = select_diverse(params, scores.match, min(config.rows, params.shape[0]), sampling.min_distance)
    swinging = bool(sampling.modulation) and any(swing is not None for swing in target.swings)
    steps = f"{'up to ' if finish_by is not None else ''}{config.steps} steps" if config.method == "gradient" else (
        f"{config.budget} renders each")
    stage = f"refining the best {len(starts)} candidates ({config.method}, {steps})"
    report(0.0, stage)
    shares = stage_shares(config.steps if config.method == "gradient" else RefineConfig.steps, len(starts))
    taken = [0]  # the last evaluation's number: the steps taken

    def done(share: float) -> None:  # the same stage again, further on: a progress line updates in place
        report(shares["retune"] * share, stage)

    def stepped(step: int) -> None:
        taken[0] = step
        done((step + 1) / (config.steps + 1))
    refined_rows = set(starts)
    order = torch.tensor(starts + [i for i in range(params.shape[0]) if i not in refined_rows], dtype=torch.long)
    params, scores = params[order], scores.select(order)  # the starting points first, then the rest of the pool
    first = params[:len(starts)]
    steps_started = time.perf_counter()
    if config.method == "gradient":
        refined, _ = refine_gradient(first, target, config.steps, config.lr, deadline=finish_by,
                                     render_path=render_path, on_step=stepped,
                                     reserve=None if finish_by is None else reserve_steps(
                                         replace(config, rows=len(starts)), checks_pitch(sampling, target), swinging,
                                         sampling),
                                     pitch_step=config.pitch_step, stop=stop)
    else:
        refined, _ = refine_cmaes(first, target, scores.match[:len(starts)], config.budget, config.sigma0,
                                  config.seed, render_path=render_path,
                                  on_candidate=lambda k: done((k + 1) / len(starts)), stop=stop)
    per_step = step_seconds(steps_started, taken[0], time.perf_counter())
    pool = torch.cat([refined, params])
    pool_scores = Scores.cat([score(refined, target, render_path=render_path), scores])
    retuned = 0  # rows the retune added, at the end of the pool
    if config.retune:  # the best refined ones with their oscillators retuned, beside them
        report(shares["retune"], f"retuning the oscillators of the best {config.retune}")
        best = torch.argsort(pool_scores.match[:refined.shape[0]], stable=True)[:config.retune]
        found, found_scores = retune(refined[best], pool_scores.match[best], target, render_path)
        pool, pool_scores = torch.cat([pool, found]), Scores.cat([pool_scores, found_scores])
        retuned = found.shape[0]
    if config.fine_pitch:  # the best refined or retuned ones with their note tuned in cents, beside them
        report(shares["retune"], f"tuning the note of the best {config.fine_pitch} in cents")
        tuned = torch.cat([torch.arange(refined.shape[0]), torch.arange(pool.shape[0] - retuned, pool.shape[0])])
        found, found_scores = tune_all(pool[tuned], pool_scores.match[tuned], target, config.fine_pitch, render_path)
        pool, pool_scores = torch.cat([pool, found]), Scores.cat([pool_scores, found_scores])
    if swinging:  # the refined (retuned, tuned) ones with their LFOs in step with the target's swing, beside them
        report(shares["retune"], "setting the LFOs to the target's vibrato and tremolo")
        made = torch.cat([torch.arange(refined.shape[0]), torch.arange(refined.shape[0] + params.shape[0],
                                                                       pool.shape[0])])
        found, found_scores = swung(pool[made], pool_scores.match[made], target, render_path)
        pool, pool_scores = torch.cat([pool, found]), Scores.cat([pool_scores, found_scores])
    report(shares["expand"], "adding symmetric variants of the best")
    pool, pool_scores = expand_by_symmetry(pool, pool_scores, target, sampling, render_path)
    report(shares["choose"], f"choosing {sampling.samples} of {pool.shape[0]} candidates")
    chosen = choose(pool, pool_scores, point, sampling, target, render_path,
                    check_deadline(finish_by, per_step, len(starts)))
    return replace(chosen, refined_steps=taken[0]) if config.method == "gradient" else chosen
