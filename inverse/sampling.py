"""Latent sampling: many candidate parameter sets for one target, that sound alike and differ, best first.

The target's latent is perturbed with Gaussian noise scaled by the spread of training latents
(``model.latent_scale``, times ``sigma``); every perturbed latent is decoded, and all candidates (plus the
unperturbed point estimate), and with a retrieval index (:mod:`inverse.retrieval`) the ``retrieved`` training
patches nearest to the target, are rendered in one batch and scored against the target's *sound*
(:func:`inverse.target.score`: :func:`synth.perceptual.match_distance`, which penalises a wrong pitch far more than
a different tail; ``distance_db`` is reported beside it). Where the target has a clear pitch, plain patches
(:mod:`inverse.plain`: one waveform at its pitch, its loudness contour and level, nothing else) join the pool, and
where it holds several notes at once, plain patches playing them (:mod:`inverse.chord`), and where its pitch moves as
one bend, plain patches and the best rows bent by the pitch envelope (:mod:`inverse.glide`); the best ``refit`` get a
copy with the amplifier envelope fitted to the target's level contour; where its pitch or level swings periodically,
the best ``modulation`` get copies with their LFOs swinging in step (:mod:`inverse.modulation`: vibrato, tremolo).
The best ``transpose`` get a pitch-aligned copy (:mod:`inverse.transpose`: the note moved so that the partials line up
with the target's). The best ``expand`` candidates are then expanded by the synth's symmetries
(:func:`synth.symmetry.equivalents`: other slot orders, octave offsets written as semitones, the note moved against
the oscillators, inaudible parameters redrawn); those variants are rendered and kept where they still match (within
``keep_tolerance`` of their source), which gives different parameter sets for one sound by construction. Finally
:func:`select_spread` returns the best candidate and others that all sound close (MSS within ``within`` x the pool's
best) and are as far apart in parameters as the pool allows; where the target has a clear pitch, those with its pitch
come first (:mod:`inverse.pitch_check`); those still off it, and those whose match distance is above ``match_within``
x the best one's, are replaced by other forms of those that are not (:mod:`inverse.fill`), and each is handed over in
the form of its sound (slot order, note vs octave offsets, values of its inaudible parameters) farthest from the
others' (:mod:`inverse.spread`).
:func:`inverse.refine.refine_candidates` runs the same choice after refinement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from inverse.chord import chord_level_matched, chord_params, chord_sets, estimate_notes
from inverse.fill import fill_misses
from inverse.flow import FlowNet
from inverse.glide import bent_copies, estimate_glide, glide_params
from inverse.harmonics import fit_partials, harmonic_params, partial_levels
from inverse.metrics import closest_pair
from inverse.model import InverseModel
from inverse.modulation import modulated_copies
from inverse.pitch_check import PitchCheck, check_pitch
from inverse.plain import fitted_loudness, gain_matched, level_matched, plain_params, with_loudness
from inverse.retrieval import RetrievalIndex
from inverse.spread import spread_out
from inverse.target import Scores, Target, as_target, score
from inverse.transpose import best_shifts, transposed
from synth.symmetry import equivalents


@dataclass(frozen=True)
class SamplingConfig:
    pool: int = 64  # model candidates rendered and scored per target (including the point estimate)
    retrieved: int = 64  # nearest training patches added to the pool when an index is given (0: none)
    samples: int = 10  # candidates returned
    sigma: float = 2.0  # latent noise in training-latent spreads (2 did best on validation: pretrained/RECIPE.md)
    # minimum mean |difference| of normalised parameters between refinement's starting points (the returned are
    # flagged not diverse when two are closer). 0.1: on 16 held-out targets, diversity 0.285 with threshold
    # selection (0.05: 0.234; retrieval 0.291) at the same best and median MSS
    min_distance: float = 0.1
    seed: int = 0  # noise seed: same seed, same candidates
    # best candidates expanded by the synth's symmetries (0: off); 6 rather than 3: diversity 0.292 vs 0.289
    # in-domain with every candidate within 1.5x (21 held-out targets), ~5 % more time
    expand: int = 6
    keep_tolerance: float = 0.05  # a variant is kept if its match distance is at most its source's + this
    # returned candidates' MSS at most this x the pool's best (issue 13), spread out in parameters among those
    within: float = 1.5
    # returned candidates whose match distance (MSS + spectral shape) is above this x the best one's replaced by other
    # forms of those that are not (inverse.fill; 0: none): MSS alone admits sounds that follow the target's loudness
    # without its partials (a noise burst for a flute note, 1.94x). On 24 validation + 24 external targets, 1.75:
    # median-of-10 MSS -2.1 % in-domain, -4.6 % fluidsynth, diversity -2.0 % / -1.7 %; 1.5: median -3.4 % / -5.7 %,
    # diversity -6.1 % / -8.2 %, below retrieval's (benchmarks/results/match_fill_ab/)
    match_within: float = 1.75
    transpose: int = 32  # best pool rows given a pitch-aligned copy (inverse.transpose; 0: off)
    # best mutually different pool rows whose loudness settings make plain candidates (inverse.plain: one oscillator
    # of each basic waveform at a clear target pitch, nothing else; 0: off)
    plain: int = 4
    # best mutually different pool rows given a copy with the amplifier envelope fitted to the target's level contour
    # and the output gain to its level (0: off); on 24 held-out in-domain targets best-of-10 MSS -1.0 %, diversity
    # +1.6 %, all ten on a clear pitch 55 -> 62 of 70 (benchmarks/results/plain_ab; with the plain candidates on all
    # 500 held-out targets -0.7 %, sox -33 %: benchmarks/results/predict_plain_500)
    refit: int = 8
    # sets of two or three notes a target holds at once (inverse.chord) played by the oscillators as plain patches in
    # each basic waveform, with the loudness settings of the best pool row and an envelope fitted to the target
    # (0: off)
    chords: int = 4
    # pool rows whose loudness settings make glide candidates where the target's pitch moves as the synth's pitch
    # envelope bends a note (inverse.glide: a kick's or tom's drop, a riser, a zap; plain patches bent by the fitted
    # envelope in each basic waveform, the best with an envelope fitted to the target, and those rows bent by it;
    # 0: off). On 14 sox sweeps and drum drops best-of-10 MSS -41.5 %, 10 fluidsynth drums -0.5 %
    # (benchmarks/results/glides/)
    glides: int = 2
    # best mutually different pool rows copied with their LFOs set to the target's vibrato and tremolo, where it has
    # one (inverse.modulation: a sinusoid fitted to its pitch track and level; 0: off)
    modulation: int = 2
    # fits of a clearly pitched target's partial balance by the three oscillators at multiples of its note (inverse.
    # harmonics: a flute's strong third partial, a clarinet's weak even ones, an organ's stops) played as plain
    # patches with the loudness settings of two pool rows (0: off). Off by default: with 4, best-of-10 MSS -3.6 % on
    # 16 instrument notes, -4.3 % on 10 fluidsynth and -11.6 % on 6 sox notes of the set, -3.3 % on 10
    # clearly pitched held-out patches, but diversity -4 to -8 % out of domain, where issue 13's diversity target is
    # met with nothing to spare (benchmarks/results/harmonics/); on by default once the whole benchmark says it holds
    harmonics: int = 0
    pitch_check: bool = True  # candidates with the target's pitch first (inverse.pitch_check; pitched targets)
    pitch_rounds: int = 10  # the pitch check's rounds at most (inverse.pitch_check.check_pitch)
    # after the pitch check, those still off it replaced by other forms of those on it (inverse.fill); on the 16
    # clearly pitched of 40 held-out targets 149 of the 160 returned on the pitch (131 without), diversity -1.7 %
    pitch_fill: bool = True
    # random draws of each form's inaudible parameters when the returned are written in their most mutually
    # different forms (inverse.spread; 0: as chosen). On 10 validation targets diversity 0.302 -> 0.320 with
    # 4 draws (2: 0.318, 8 and 16: 0.320), ~0.6 s on a slow 2-core machine
    spread: int = 4

    def validate(self) -> None:
        if self.pool < 1 or self.samples < 1:
            raise ValueError(f"pool and samples must be >= 1, got pool={self.pool}, samples={self.samples}")
        if self.samples > self.pool:
            raise ValueError(f"cannot return {self.samples} samples from a pool of {self.pool} (--pool: at least "
                             "--samples)")
        if self.retrieved < 0:
            raise ValueError(f"retrieved must be non-negative, got {self.retrieved}")
        if min(self.sigma, self.min_distance, self.expand, self.keep_tolerance, self.transpose, self.spread,
               self.plain, self.refit, self.chords, self.glides, self.modulation, self.harmonics,
               self.pitch_rounds) < 0:
            raise ValueError("sigma, min_distance, expand, keep_tolerance, transpose, spread, plain, refit, chords, "
                             "glides, modulation, harmonics and pitch_rounds must be non-negative")
        if self.within < 1:
            raise ValueError(f"within must be >= 1 (a multiple of the best candidate's MSS), got {self.within}")
        if self.match_within < 0 or 0 < self.match_within < 1:
            raise ValueError(f"match_within must be 0 (no bound) or >= 1 (a multiple of the best candidate's match "
                             f"distance), got {self.match_within}")


@dataclass
class Candidates:
    """Returned candidates, best first. ``params``: ``Tensor[K, 100]`` normalised; ``scores``: their
    :class:`~inverse.target.Scores` (match and MSS distances, ``distance_db``, audio, spectrograms);
    ``pool_index``: their rows in the scored pool (-1: a copy moved onto the target's pitch); ``diverse``:
    whether all K are within the MSS tolerance and
    ``min_distance`` apart (False when the pool had too few such candidates); ``point``: the unperturbed
    decode ``Tensor[100]`` (pool row 0), whether or not it was returned; ``pitch``: the pitch check's findings
    (:func:`inverse.pitch_check.check_pitch`; None when it did not run); ``refined_steps``: the gradient steps the
    refined rows took (:func:`inverse.refine.refine_candidates`; None: no gradient refinement)."""

    params: torch.Tensor
    scores: Scores
    pool_index: torch.Tensor
    diverse: bool
    point: torch.Tensor
    pitch: PitchCheck | None = None
    refined_steps: int | None = None

    def select(self, index: torch.Tensor) -> Candidates:
        """The candidates at ``index`` (``Tensor[K']`` long), in that order (their pitches too)."""
        pitch = None if self.pitch is None else self.pitch.select(index)
        return replace(self, params=self.params[index], scores=self.scores.select(index),
                       pool_index=self.pool_index[index], pitch=pitch)

    def in_pitch_order(self) -> Candidates:
        """The candidates in match order, those on the target's pitch first where the pitch check ran."""
        order = torch.argsort(self.match, stable=True)
        if self.pitch is not None and self.pitch.checked:
            order = order[torch.argsort((~self.pitch.agrees[order]).int(), stable=True)]
        return self.select(order)

    @property
    def match(self) -> torch.Tensor:
        return self.scores.match

    @property
    def mss(self) -> torch.Tensor:
        return self.scores.mss

    @property
    def distance_db(self) -> torch.Tensor:
        return self.scores.distance_db

    @property
    def audio(self) -> torch.Tensor:
        return self.scores.audio

    @property
    def spectrogram(self) -> torch.Tensor:
        return self.scores.spectrogram


def select_diverse(params: torch.Tensor, distances: torch.Tensor, count: int, min_distance: float
                   ) -> tuple[list[int], bool]:
    """Greedy best-first selection of ``count`` rows no two closer than ``min_distance`` (mean |diff|).

    Returns the chosen row indices (best first) and whether the threshold could be met for all; if not,
    the remaining places are filled with the best unchosen rows.
    """
    order = torch.argsort(distances, stable=True).tolist()
    chosen: list[int] = []
    for i in order:
        if len(chosen) == count:
            break
        if all(float((params[i] - params[j]).abs().mean()) >= min_distance for j in chosen):
            chosen.append(i)
    diverse = len(chosen) == count
    for i in order:
        if len(chosen) == count:
            break
        if i not in chosen:
            chosen.append(i)
    return chosen, diverse


@torch.no_grad()
def perturbed_params(model: InverseModel, target: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """Decode the point estimate and ``pool - 1`` perturbed latents: ``Tensor[pool, 100]``.

    target: normalised spectrogram ``Tensor[512, 512]``.
    """
    device = next(model.parameters()).device
    latent = model.encode(target.to(device)[None, None])
    noise = torch.randn(config.pool - 1, latent.shape[1], generator=torch.Generator().manual_seed(config.seed))
    latents = torch.cat([latent, latent + config.sigma * model.latent_scale * noise.to(device)])
    return model.decode(latents).cpu()


def expand_by_symmetry(params: torch.Tensor, scores: Scores, target: Target, config: SamplingConfig,
                       render_path: str = "auto") -> tuple[torch.Tensor, Scores]:
    """The pool plus the symmetric variants of its best ``config.expand`` rows that still match: variants are
    rendered and kept where their match distance is at most their source's + ``keep_tolerance``."""
    if config.expand == 0:
        return params, scores
    generator = torch.Generator().manual_seed(config.seed)
    best = torch.argsort(scores.match, stable=True)[:config.expand].tolist()
    found = [(equivalents(params[i], generator), i) for i in best]
    variants = torch.cat([v for v, _ in found])
    if variants.shape[0] == 0:
        return params, scores
    source = torch.cat([torch.full((v.shape[0],), i) for v, i in found])
    judged = score(variants, target, render_path=render_path)
    keep = judged.match <= scores.match[source] + config.keep_tolerance
    return torch.cat([params, variants[keep]]), Scores.cat([scores, judged.select(keep.nonzero()[:, 0])])


def add_plain(params: torch.Tensor, scores: Scores, target: Target, config: SamplingConfig, loudness: dict[str, float],
              render_path: str = "auto") -> tuple[torch.Tensor, Scores]:
    """The pool plus, where the target has a clear pitch, plain candidates (:func:`inverse.plain.plain_params`,
    level-matched): with the best row's settings and ``loudness``, the amplifier envelope fitted to the target's
    level contour (:func:`inverse.plain.fitted_loudness`), and with the loudness settings of the next
    ``config.plain - 1`` best mutually different rows; rendered and scored."""
    f0_hz = target.pitch_hz if config.plain else math.nan
    if math.isnan(f0_hz):
        return params, scores
    sources = loudness_sources(params, scores, config.plain, config.min_distance, loudness)
    try:
        plain = plain_params(sources, f0_hz)
    except ValueError:  # a pitch beyond what the oscillators play
        return params, scores
    plain = level_matched(plain, target.audio, render_path)
    return torch.cat([params, plain]), Scores.cat([scores, score(plain, target, render_path=render_path)])


def add_harmonics(params: torch.Tensor, scores: Scores, target: Target, config: SamplingConfig,
                  loudness: dict[str, float], render_path: str = "auto") -> tuple[torch.Tensor, Scores]:
    """The pool plus, where the target has a clear pitch, plain patches playing the ``config.harmonics`` best fits of
    its partial balance by the three oscillators at multiples of the note (:func:`inverse.harmonics.fit_partials`,
    :func:`~inverse.harmonics.harmonic_params`) with the loudness settings of two rows (:func:`loudness_sources`),
    level-matched (all oscillators alike), rendered and scored."""
    f0_hz = target.pitch_hz if config.harmonics else math.nan
    if math.isnan(f0_hz):
        return params, scores
    fits = fit_partials(partial_levels(target.audio, f0_hz), config.harmonics)
    if not fits:
        return params, scores
    try:
        made = harmonic_params(loudness_sources(params, scores, HARMONIC_SOURCES, config.min_distance, loudness),
                               f0_hz, fits)
    except ValueError:  # a pitch beyond what the oscillators play
        return params, scores
    if made.shape[0] == 0:
        return params, scores
    made = chord_level_matched(made, target.audio, render_path)
    return torch.cat([params, made]), Scores.cat([scores, score(made, target, render_path=render_path)])


#: Pool rows whose loudness settings the harmonic candidates take (:func:`add_harmonics`).
HARMONIC_SOURCES = 2


def loudness_sources(params: torch.Tensor, scores: Scores, count: int, min_distance: float,
                     loudness: dict[str, float]) -> torch.Tensor:
    """The rows whose loudness settings plain-like candidates take: the best pool row with ``loudness`` (the
    amplifier envelope fitted to the target) and the next ``count - 1`` best mutually different rows as they are:
    ``Tensor[min(count, P), 100]``."""
    rows, _ = select_diverse(params, scores.match, min(count, params.shape[0]), min_distance)
    return torch.cat([with_loudness(params[rows[:1]], loudness), params[rows[1:]]])


def add_glides(params: torch.Tensor, scores: Scores, target: Target, config: SamplingConfig,
               loudness: dict[str, float], render_path: str = "auto") -> tuple[torch.Tensor, Scores]:
    """The pool plus, where the target's pitch moves as one bend of the pitch envelope
    (:func:`inverse.glide.estimate_glide`), plain patches bent by it (:func:`~inverse.glide.glide_params`) with the
    loudness settings of ``config.glides`` rows (:func:`loudness_sources`), level-matched, and those rows themselves
    bent by it (:func:`~inverse.glide.bent_copies`, their timbre kept), gain-matched; rendered and scored."""
    glide = estimate_glide(target.audio, track=target.pitch_track) if config.glides else None
    if glide is None:
        return params, scores
    sources = loudness_sources(params, scores, config.glides, config.min_distance, loudness)
    try:
        plain = level_matched(glide_params(sources, glide), target.audio, render_path)
    except ValueError:  # a note beyond what the oscillators play
        plain = params[:0]
    made = torch.cat([plain, gain_matched(bent_copies(sources, glide), target.audio, render_path)])
    return torch.cat([params, made]), Scores.cat([scores, score(made, target, render_path=render_path)])


def add_modulation(params: torch.Tensor, scores: Scores, target: Target, config: SamplingConfig,
                   render_path: str = "auto") -> tuple[torch.Tensor, Scores]:
    """The pool plus, where the target's pitch or level swings periodically (``target.swings``:
    :func:`inverse.modulation.estimate_vibrato`, :func:`~inverse.modulation.estimate_tremolo`), copies of the best
    ``config.modulation`` mutually different rows with their LFOs set to the swing
    (:func:`~inverse.modulation.modulated_copies`), gain-matched; rendered and scored."""
    if not config.modulation:
        return params, scores
    if all(swing is None for swing in target.swings):
        return params, scores
    rows, _ = select_diverse(params, scores.match, min(config.modulation, params.shape[0]), config.min_distance)
    made = gain_matched(modulated_copies(params[rows], *target.swings), target.audio, render_path)
    return torch.cat([params, made]), Scores.cat([scores, score(made, target, render_path=render_path)])


def add_chords(params: torch.Tensor, scores: Scores, target: Target, config: SamplingConfig,
               loudness: dict[str, float], render_path: str = "auto") -> tuple[torch.Tensor, Scores]:
    """The pool plus, where the target holds several notes at once, plain patches playing ``config.chords`` sets
    of them (:func:`inverse.chord.chord_sets`, :func:`~inverse.chord.chord_params`) with the loudness settings of
    the best row and of the best row with ``loudness`` (the amplifier envelope fitted to the target), level-matched,
    rendered and scored."""
    chords = chord_sets(estimate_notes(target.audio), config.chords) if config.chords else []
    if not chords:
        return params, scores
    best = params[int(torch.argmin(scores.match))][None]
    sources = torch.cat([with_loudness(best, loudness), best])
    made = []
    for chord in chords:
        try:
            made.append(chord_params(sources, chord))
        except ValueError:  # a note beyond the oscillators' offsets
            continue
    if not made:
        return params, scores
    found = chord_level_matched(torch.cat(made), target.audio, render_path)
    return torch.cat([params, found]), Scores.cat([scores, score(found, target, render_path=render_path)])


def add_refitted(params: torch.Tensor, scores: Scores, target: Target, config: SamplingConfig,
                 loudness: dict[str, float], render_path: str = "auto") -> tuple[torch.Tensor, Scores]:
    """The pool plus copies of its best ``config.refit`` mutually different rows with ``loudness``, the amplifier
    envelope and note gate fitted to the target's level contour (:func:`inverse.plain.fitted_loudness`), and the
    output gain matched to its level; rendered and scored."""
    if not config.refit:
        return params, scores
    rows, _ = select_diverse(params, scores.match, min(config.refit, params.shape[0]), config.min_distance)
    copies = gain_matched(with_loudness(params[rows], loudness), target.audio, render_path)
    return torch.cat([params, copies]), Scores.cat([scores, score(copies, target, render_path=render_path)])


def add_transposed(params: torch.Tensor, scores: Scores, target: Target, config: SamplingConfig,
                   render_path: str = "auto") -> tuple[torch.Tensor, Scores]:
    """The pool plus a pitch-aligned copy (:mod:`inverse.transpose`) of each of its best ``config.transpose``
    rows that is off by at least :data:`~inverse.transpose.MIN_CENTS`, rendered and scored."""
    if config.transpose == 0:
        return params, scores
    best = torch.argsort(scores.match, stable=True)[:config.transpose]
    moved, movable = transposed(params[best], best_shifts(scores.shape[best], target.features.shape[0]))
    if not bool(movable.any()):
        return params, scores
    judged = score(moved[movable], target, render_path=render_path)
    return torch.cat([params, moved[movable]]), Scores.cat([scores, judged])


def select_spread(params: torch.Tensor, match: torch.Tensor, mss: torch.Tensor, count: int, within: float,
                  min_distance: float, excluded: torch.Tensor | None = None) -> tuple[list[int], bool]:
    """``count`` rows of a scored pool that all sound close to the target and are spread out in parameters.

    Eligible: rows whose MSS is at most ``within`` x the pool's lowest, except ``excluded`` ones (``Tensor[P]`` bool).
    The best by match distance and the best by MSS come first; then, one at a time, the eligible row with the largest
    mean distance (mean |difference| of normalised parameters) to those chosen, among those at least ``min_distance``
    from each (the others only when none is). Where fewer than ``count`` are eligible, the best remaining by match fill
    the places: excluded rows (the pitch check's, off the target's pitch) within the MSS bound before any row outside
    it, which every returned candidate promises, and the excluded last among those outside (on issue 13's benchmark
    this changed held-out row 104 alone, where every row within the bound was off the pitch:
    ``benchmarks/results/predict_bound_first/``). Returns the chosen rows ordered by match distance, best first, and
    whether all were eligible and no two closer than ``min_distance``. On 21 held-out targets this raised the returned
    candidates' diversity over best-first selection with a distance threshold (0.292 vs 0.264 in-domain) and kept
    every one within 1.5x (threshold: 97 %; sox 63 %).
    """
    excluded = torch.zeros_like(match, dtype=torch.bool) if excluded is None else excluded
    inside = mss <= within * mss.min()
    eligible = (inside & ~excluded).nonzero()[:, 0]
    if not eligible.numel():
        raise ValueError("select_spread: `excluded` leaves no row within `within` x the pool's lowest MSS")
    order = eligible[torch.argsort(match[eligible], stable=True)]
    chosen = [int(order[0])]
    best_mss = int(eligible[torch.argmin(mss[eligible])])
    if best_mss != chosen[0] and count > 1:
        chosen.append(best_mss)
    distances = torch.stack([(params[order] - params[j]).abs().mean(dim=1) for j in chosen])  # (chosen, eligible)
    while len(chosen) < min(count, order.numel()):
        gain = distances.mean(dim=0) - 10.0 * (distances.min(dim=0).values < min_distance)  # too close: last
        gain[torch.isin(order, torch.tensor(chosen))] = -float("inf")
        k = int(torch.argmax(gain))  # the first of equals: the better match
        chosen.append(int(order[k]))
        distances = torch.cat([distances, (params[order] - params[order[k]]).abs().mean(dim=1)[None]])
    all_eligible = len(chosen) == count
    by_match = torch.argsort(match, stable=True)
    fill_order = by_match[torch.argsort(2 * (~inside[by_match]).int() + excluded[by_match].int(), stable=True)]
    for i in fill_order.tolist():  # within the bound first, then outside it; in each, the excluded last
        if len(chosen) >= count:
            break
        if i not in chosen:
            chosen.append(i)
    chosen.sort(key=lambda i: (float(match[i]), i))
    return chosen, all_eligible and (len(chosen) < 2 or closest_pair(params[chosen]) >= min_distance)


def checks_pitch(config: SamplingConfig, target: Target) -> bool:
    """Whether :func:`choose`'s pitch check has work to do for ``target`` (``config.pitch_check`` and a clear target
    pitch; without one it returns the choice as it is)."""
    return config.pitch_check and bool(target.pitch.clear[0])


def choose(params: torch.Tensor, scores: Scores, point: torch.Tensor, config: SamplingConfig,
           target: Target | None = None, render_path: str = "auto", check_by: float | None = None) -> Candidates:
    """``config.samples`` rows of a scored pool that sound alike and differ in parameters
    (:func:`select_spread`), best first, as :class:`Candidates`; with ``target`` and ``config.pitch_check``,
    those off a clear target pitch moved onto it where that keeps them as close, the choice made again around
    the moved copies, and those with its pitch first (:func:`~inverse.pitch_check.check_pitch`, rendering on
    ``render_path``, at most ``config.pitch_rounds`` rounds, none begun that would end after ``check_by``, a
    ``time.perf_counter()`` value); with ``target``, the misses (off a clear pitch, or far by the match distance)
    replaced by other forms of the others (:func:`~inverse.fill.fill_misses`) and each then written in the form of
    its sound farthest from the others (:func:`~inverse.spread.spread_out`, ``config.spread`` draws)."""

    def select(params: torch.Tensor, scores: Scores, excluded: torch.Tensor | None = None) -> Candidates:
        chosen, diverse = select_spread(params, scores.match, scores.mss, config.samples, config.within,
                                        config.min_distance, excluded)
        index = torch.tensor(chosen)
        return Candidates(params[index], scores.select(index), index, diverse, point)

    if target is None:
        return select(params, scores)
    if config.pitch_check:
        chosen = check_pitch(params, scores, select, target, config.keep_tolerance, render_path, config.pitch_rounds,
                             check_by)
    else:
        chosen = select(params, scores)
    return spread_out(fill_misses(chosen, target, config, render_path), target, config, render_path)


@torch.no_grad()
def flow_params(model: InverseModel, flow: FlowNet, target: torch.Tensor, config: SamplingConfig) -> torch.Tensor:
    """The pool drawn from the flow sampler: row 0 the regression head's point estimate (for reference),
    then ``pool - 1`` flow samples conditioned on the target's latent: ``Tensor[pool, 100]``."""
    device = next(model.parameters()).device
    latent = model.encode(target.to(device)[None, None])
    drawn = flow.to(device).sample(latent[0], config.pool - 1, seed=config.seed)
    return torch.cat([model.decode(latent).cpu(), drawn])


def scored_pool(model: InverseModel, target: Target, config: SamplingConfig, render_path: str = "auto",
                flow: FlowNet | None = None, index: RetrievalIndex | None = None
                ) -> tuple[torch.Tensor, Scores, torch.Tensor]:
    """Everything :func:`sample` chooses from: the pool's params ``Tensor[P, 100]``, their :class:`Scores` and
    the model's point estimate ``Tensor[100]`` (see :func:`sample`)."""
    config.validate()
    if flow is not None:
        params = flow_params(model.eval(), flow, target.spectrogram, config)
    else:
        params = perturbed_params(model.eval(), target.spectrogram, config)
    if index is not None and config.retrieved:
        params = torch.cat([params, index.query(target.spectrogram, config.retrieved)])
    scores = score(params, target, render_path=render_path)
    if config.plain or config.refit or config.chords or config.glides or config.harmonics:
        loudness = fitted_loudness(target.audio)  # the target's amplifier envelope, fitted once for all five
        params, scores = add_plain(params, scores, target, config, loudness, render_path)
        params, scores = add_harmonics(params, scores, target, config, loudness, render_path)
        params, scores = add_chords(params, scores, target, config, loudness, render_path)
        params, scores = add_glides(params, scores, target, config, loudness, render_path)
        params, scores = add_refitted(params, scores, target, config, loudness, render_path)
    params, scores = add_modulation(params, scores, target, config, render_path)
    pool, pool_scores = add_transposed(params, scores, target, config, render_path)
    pool, pool_scores = expand_by_symmetry(pool, pool_scores, target, config, render_path)
    return pool, pool_scores, params[0]


def sample(model: InverseModel, target: Target | torch.Tensor, config: SamplingConfig | None = None,
           render_path: str = "auto", flow: FlowNet | None = None, index: RetrievalIndex | None = None
           ) -> Candidates:
    """Candidates for one target (a :class:`~inverse.target.Target` or a normalised spectrogram
    ``Tensor[512, 512]``; see the module docstring). With ``flow`` the model's pool comes from the flow-matching
    sampler (:mod:`inverse.flow`) instead of perturbed latents; with ``index`` its ``config.retrieved`` rows
    nearest to the target join the pool. ``render_path``: how candidates are rendered (:func:`synth.render`)."""
    config = config or SamplingConfig()
    target = as_target(target)
    return choose(*scored_pool(model, target, config, render_path, flow, index), config, target, render_path)
