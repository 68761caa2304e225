"""Vibrato and tremolo candidates: a note whose pitch or level swings periodically, on the synth's LFOs.

The synth swings each oscillator's pitch by ``osc{i}_vibrato`` cents on LFO 1 and the amplifier's level by
``lfo2_tremolo`` on LFO 2 (:class:`synth.voice.Voice`), each LFO a sine (or another shape) at 0.05-20 Hz from a
start phase. But an LFO's rate and phase are what gradient refinement cannot find (the match distance is periodic in
them), and the pool rarely holds a patch whose LFO runs in step with the target's: on a sawtooth with a 5.5 Hz,
40-cent vibrato the ten returned were steady notes, and on a sawtooth under sox's 5 Hz tremolo the best three
wobbled in pitch instead of level. This module reads the swing off the target, a sinusoid fitted by least squares
over a grid of rates beside a slow trend (:func:`fit_swing`): to its tracked pitch in cents (CREPE's loud periodic
frames, :func:`synth.pitch.pitch_track`; :func:`estimate_vibrato`) and to its level in dB (10 ms frames within
:data:`LOUD_DB` of the loudest; :func:`estimate_tremolo`), kept where it explains at least :data:`MIN_SHARE` of what the
trend leaves, spans :data:`MIN_CYCLES` cycles and is deep enough to hear; and writes copies of the best pool rows
with their LFOs set to it (:func:`modulated_copies`, their timbre kept): in the pool
(:func:`inverse.sampling.add_modulation`), where the ranking decides whether they are any good and refinement then
moves depth and everything else, and after refinement (:func:`inverse.refine.swung`), whose steps move an LFO's rate
and phase off the target's where they were on them, a refined candidate's copy added beside it where it is closer.
A :class:`~inverse.target.Target` reads its swings once (``Target.swings``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

from synth.params import PARAM_INDEX, PARAM_SPECS, from_physical
from synth.pitch import SAMPLE_RATE, PitchConfig, pitch_track

#: The rates the fit tries first (Hz, log-spaced; LFO-like swings, not a note's beating partials), then
#: :data:`FINE_STEPS` between the best one's neighbours.
RATES = torch.logspace(math.log10(0.5), math.log10(15.0), 160, dtype=torch.float64)
FINE_STEPS = 41
MIN_SHARE = 0.5  # the sinusoid explains at least this share of the variance the trend leaves
MIN_CYCLES = 2.0  # ... over a span of frames at least this many of its cycles long
MIN_FRAMES = 10
#: A vibrato at least this deep (cents, peak, as read: :func:`estimate_vibrato`): the tracker reads steady sox sine and
#: triangle notes on E3 as 5.55 Hz swings of 12.7 and 14.1 cents (its 20 ms hop beating with the period), and a
#: vibrato people hear is 20-100 cents (fluidsynth's, the modulation wheel up: 29-46) ...
MIN_CENTS = 20.0
#: ... and at most this deep: deeper readings come from tracks that jump between partials or octaves (in 500 held-out
#: patches the fit read 200-1900 cents on such tracks, where the synth's vibrato reaches 100 cents an oscillator)
MAX_CENTS = 150.0
MIN_DB = 0.5  # ... a tremolo's level swing at least this deep (dB, peak; a depth of ~0.11)
LOUD_DB = 30.0  # level frames within this many dB of the loudest count ...
FLOOR_DBFS = -60.0  # ... if also above this absolute level (dB re full scale)
LEVEL_HOP = 160  # samples between level frames (10 ms)
LEVEL_WINDOW = 320  # samples per level frame (20 ms)
#: The pitch tracker reads a vibrato shallower than it is: each reading averages the pitch over its 1024-sample
#: (64 ms) frame, which passes a swing at ``rate`` by :func:`frame_response`, and reads ~0.8-0.9 of what is left
#: (measured: the synth's 30-cent vibrato at 2 / 5.5 / 8 Hz read as 24.8 / 22.5 / 19.9 cents, an additive sawtooth's
#: as 27.1 / 24.1 / 21.7). A read depth is divided by both, so a copy's vibrato reads as the target's.
TRACKER_FRAME_S = 1024 / SAMPLE_RATE
TRACKER_DEPTH = 0.83

_VIBRATO = [PARAM_INDEX[f"osc{i}_vibrato"] for i in (1, 2, 3)]
_SUSTAIN = PARAM_INDEX["amp_env_sustain"]


@dataclass(frozen=True)
class Swing:
    """A periodic swing ``depth * sin(2 * pi * (phase + rate_hz * t))`` around a slow trend (t in seconds from the
    note's start; ``depth`` in cents for a vibrato, dB for a tremolo). ``share``: the variance it explains of what
    the trend leaves; ``cycles``: how many of its cycles the fitted frames span."""

    rate_hz: float
    depth: float
    phase: float
    share: float
    cycles: float


def _fit_at(t: torch.Tensor, y: torch.Tensor, rates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Least squares of ``y`` on ``[1, t, t^2, sin, cos]`` at each of ``rates`` ``Tensor[R]``: the solutions
    ``Tensor[R, 5]`` and residual sums of squares ``Tensor[R]``."""
    angle = 2 * math.pi * rates[:, None] * t[None, :]
    trend = torch.stack([torch.ones_like(t), t, t.square()], dim=1).expand(len(rates), -1, -1)
    design = torch.cat([trend, torch.sin(angle)[..., None], torch.cos(angle)[..., None]], dim=2)
    solution = torch.linalg.lstsq(design, y.expand(len(rates), -1)[..., None]).solution[..., 0]
    residual = (design @ solution[..., None])[..., 0] - y
    return solution, residual.square().sum(dim=1)


def fit_swing(t: torch.Tensor, y: torch.Tensor) -> Swing | None:
    """The sinusoid that, beside a quadratic trend, best fits ``y`` ``Tensor[V]`` at times ``t`` ``Tensor[V]``
    (seconds): the rate of :data:`RATES` with the smallest residual, then :data:`FINE_STEPS` rates between its
    neighbours. None where there are fewer than :data:`MIN_FRAMES` frames or nothing is left after the trend."""
    if t.numel() < MIN_FRAMES:
        return None
    t, y = t.double(), y.double()
    start = float(t[0])
    trend = torch.stack([torch.ones_like(t), t - start, (t - start).square()], dim=1)
    left = y - trend @ torch.linalg.lstsq(trend, y[:, None]).solution[:, 0]
    left_sum = float(left.square().sum())
    if left_sum <= 1e-12:
        return None
    _, coarse = _fit_at(t, y, RATES)
    best = int(coarse.argmin())
    fine = torch.linspace(float(RATES[max(best - 1, 0)]), float(RATES[min(best + 1, len(RATES) - 1)]), FINE_STEPS,
                          dtype=torch.float64)
    solution, residual = _fit_at(t, y, fine)
    best = int(residual.argmin())
    a, b = float(solution[best, 3]), float(solution[best, 4])
    rate = float(fine[best])
    return Swing(rate_hz=rate, depth=math.hypot(a, b), phase=(math.atan2(b, a) / (2 * math.pi)) % 1.0,
                 share=1.0 - float(residual[best]) / left_sum, cycles=rate * float(t[-1] - t[0]))


def _kept(swing: Swing | None, min_depth: float) -> Swing | None:
    if swing is None or swing.share < MIN_SHARE or swing.cycles < MIN_CYCLES or swing.depth < min_depth:
        return None
    return swing


def frame_response(rate_hz: float, frame_s: float = TRACKER_FRAME_S) -> float:
    """How much of a swing at ``rate_hz`` survives averaging over a Hann-weighted frame ``frame_s`` long (1 for a
    slow swing, 0 for one whose period is half the frame)."""
    x = rate_hz * frame_s
    if x == 0.0:
        return 1.0
    if abs(x - 1.0) < 1e-9:
        return 0.5
    return math.sin(math.pi * x) / (math.pi * x) / (1.0 - x * x)


def estimate_vibrato(audio: torch.Tensor, config: PitchConfig | None = None,
                     track: tuple[torch.Tensor, torch.Tensor] | None = None) -> Swing | None:
    """The vibrato of ``audio`` ``Tensor[N]`` (16 kHz, the note starting at 0 s) where it has one: a
    :func:`fit_swing` to its tracked pitch in cents that passes :data:`MIN_SHARE`, :data:`MIN_CYCLES`,
    :data:`MIN_CENTS` and :data:`MAX_CENTS`; else None. ``depth`` is in cents, the tracker's shallower reading undone
    (:data:`TRACKER_DEPTH`, :func:`frame_response`). ``track``: the audio's :func:`synth.pitch.pitch_track` where it
    was made already (``Target.pitch_track``)."""
    t, f0 = track if track is not None else pitch_track(audio, config)
    if t.numel() < MIN_FRAMES:
        return None
    cents = 1200.0 * torch.log2(f0.double() / f0.double().median())
    swing = _kept(fit_swing(t, cents), MIN_CENTS)
    if swing is None:
        return None
    swing = replace(swing, depth=swing.depth / (TRACKER_DEPTH * max(frame_response(swing.rate_hz), 0.25)))
    return swing if swing.depth <= MAX_CENTS else None


def level_track(audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The level of ``audio`` ``Tensor[N]`` (16 kHz) in dB re a full-scale sine, every :data:`LEVEL_HOP` samples
    over :data:`LEVEL_WINDOW`: (``t`` seconds ``Tensor[V]``, the frame centres, ``db`` ``Tensor[V]``) of the frames
    within :data:`LOUD_DB` of the loudest and above :data:`FLOOR_DBFS`, from the first such frame to the last."""
    frames = audio.detach().double().cpu().unfold(0, LEVEL_WINDOW, LEVEL_HOP)
    db = 20 * torch.log10(frames.square().mean(dim=1).sqrt().clamp_min(1e-10) * math.sqrt(2))
    loud = (db >= db.max() - LOUD_DB) & (db >= FLOOR_DBFS)
    t = (torch.arange(len(db), dtype=torch.float64) * LEVEL_HOP + LEVEL_WINDOW / 2) / SAMPLE_RATE
    if not bool(loud.any()):
        return t[:0], db[:0]
    index = loud.nonzero()[:, 0]
    span = slice(int(index[0]), int(index[-1]) + 1)
    return t[span], db[span]


def estimate_tremolo(audio: torch.Tensor) -> Swing | None:
    """The tremolo of ``audio`` ``Tensor[N]`` (16 kHz, the note starting at 0 s) where it has one: a
    :func:`fit_swing` to its level in dB (:func:`level_track`) that passes :data:`MIN_SHARE`, :data:`MIN_CYCLES` and
    :data:`MIN_DB`; else None. ``depth`` is in dB (peak)."""
    t, db = level_track(audio)
    return _kept(fit_swing(t, db), MIN_DB)


def tremolo_amount(depth_db: float) -> float:
    """The synth's ``lfo2_tremolo`` (0-1) whose level swing has a ``depth_db`` peak: the amplifier swings between
    1 and ``1 - amount``, ``2 * depth_db`` dB apart."""
    return min(1.0, max(0.0, 1.0 - 10.0 ** (-2.0 * depth_db / 20.0)))


def _set(rows: torch.Tensor, name: str, value: float) -> None:
    rows[:, PARAM_INDEX[name]] = from_physical(PARAM_SPECS[PARAM_INDEX[name]], value)


def with_vibrato(rows: torch.Tensor, vibrato: Swing) -> torch.Tensor:
    """Copies of ``rows`` ``Tensor[S, 100]`` (normalised) whose three oscillators swing by ``vibrato`` on LFO 1 (a
    sine at its rate and phase, no fade-in): ``Tensor[S, 100]``."""
    out = rows.detach().clone()
    _set(out, "lfo1_rate", vibrato.rate_hz)
    _set(out, "lfo1_shape", 0)
    _set(out, "lfo1_phase", vibrato.phase)
    _set(out, "lfo1_fade", 0.0)
    for index in _VIBRATO:
        out[:, index] = from_physical(PARAM_SPECS[index], min(vibrato.depth, PARAM_SPECS[index].high))
    return out


def with_tremolo(rows: torch.Tensor, tremolo: Swing) -> torch.Tensor:
    """Copies of ``rows`` ``Tensor[S, 100]`` (normalised) whose level swings by ``tremolo`` on LFO 2 (a sine at its
    rate and phase, no fade-in, :func:`tremolo_amount` deep), LFO 2's sweep of the filter cutoff off (it would swing
    at the same rate), and the amplifier's sustain level raised by what the swing takes on average (``1 - amount /
    2``; at most to 1): a row at full output gain cannot be gain-matched up again (:func:`inverse.plain.gain_matched`)
    and came back ~4 dB too quiet. ``Tensor[S, 100]``."""
    out = rows.detach().clone()
    sustain = PARAM_SPECS[_SUSTAIN]
    level = sustain.low + out[:, _SUSTAIN] * (sustain.high - sustain.low)
    level = (level / (1.0 - tremolo_amount(tremolo.depth) / 2.0)).clamp(max=sustain.high)
    out[:, _SUSTAIN] = (level - sustain.low) / (sustain.high - sustain.low)
    _set(out, "lfo2_rate", tremolo.rate_hz)
    _set(out, "lfo2_shape", 0)
    _set(out, "lfo2_phase", tremolo.phase)
    _set(out, "lfo2_fade", 0.0)
    _set(out, "lfo2_tremolo", tremolo_amount(tremolo.depth))
    _set(out, "filter_lfo_amount", 0.0)
    return out


def modulated_copies(rows: torch.Tensor, vibrato: Swing | None, tremolo: Swing | None) -> torch.Tensor:
    """Copies of ``rows`` ``Tensor[S, 100]`` with the target's vibrato, with its tremolo and, where it has both,
    with both: ``Tensor[M * S, 100]`` (M = 0 to 3)."""
    made = []
    if vibrato is not None:
        made.append(with_vibrato(rows, vibrato))
    if tremolo is not None:
        made.append(with_tremolo(rows, tremolo))
    if vibrato is not None and tremolo is not None:
        made.append(with_tremolo(with_vibrato(rows, vibrato), tremolo))
    return torch.cat(made) if made else rows[:0]

