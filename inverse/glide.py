"""Glide candidates: a note whose pitch moves (a dropping kick or tom, a riser, a laser zap) on the synth's pitch
envelope.

The synth bends every note by its pitch envelope, ``note + amount * exp(-t / decay)`` semitones (up to two octaves
either way, decays of 5 ms to 2 s), which is how a synthesized kick, tom, zap or rising sweep is made. But a target
whose pitch moves has no clear pitch, so it gets no plain candidates, and the pool rarely holds a bend that follows
it: on a sine sweeping from 300 to 900 Hz the ten returned were smeared clusters at 400-800 Hz. This module tracks
the target's pitch (CREPE's loud periodic frames, :func:`synth.pitch.pitch_track`), fits the envelope's curve to it
(least squares in semitones over a grid of decays, the amount clamped to the synth's range) and, where that curve
moves the pitch by at least :data:`MIN_MOVE` semitones and follows the track to within :data:`MAX_RESIDUAL`, writes
plain patches (:mod:`inverse.plain`'s, every colouring stage off) bent by it in each basic waveform, level-matched to
the target, and copies of the best pool rows bent by it with their own timbre (a tom's noise, a filter): on
acoustic drums the plain patches follow the pitch but lack the noise. The ranking decides whether they are any good;
refinement then moves the envelope's amount and decay with everything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from inverse.plain import plain_params
from synth.params import PARAM_INDEX, PARAM_SPECS, from_physical
from synth.pitch import PitchConfig, midi_to_hz, pitch_track

_AMOUNT, _DECAY, _NOTE = (PARAM_INDEX[name] for name in ("pitch_env_amount", "pitch_env_decay", "note_pitch"))
AMOUNT_ST = PARAM_SPECS[_AMOUNT].high  # the envelope's reach either way (semitones)
#: The decays the fit tries (seconds, log-spaced over the synth's range).
DECAYS = torch.logspace(math.log10(PARAM_SPECS[_DECAY].low), math.log10(PARAM_SPECS[_DECAY].high), 64,
                        dtype=torch.float64)
MIN_FRAMES = 5  # periodic loud frames needed to fit at all
#: A fitted bend moves the pitch over the tracked frames by at least this many semitones (less is a steady note, the
#: plain candidates' case, or vibrato).
MIN_MOVE = 1.0
#: The fit's RMS residual (semitones) at most this, and at most :data:`MAX_SHARE` of the track's own spread around
#: its mean: a staircase of notes (a melody) or speech's intonation is no one bend.
MAX_RESIDUAL = 1.0
MAX_SHARE = 0.5
#: Frames off the first fit by more than this (semitones; a tracker's octave slip) are left out of a second fit,
#: where they are at most :data:`OUTLIER_SHARE` of the track.
OUTLIER_ST = 2.0
OUTLIER_SHARE = 0.2


@dataclass(frozen=True)
class Glide:
    """A fitted pitch bend: the pitch is ``note + amount * exp(-t / decay_s)`` (MIDI, fractional; t in seconds from
    the note's start). ``residual``: RMS semitones between that curve and the tracked pitch; ``move``: semitones
    the curve moves over the tracked frames; ``centre``: the track's median (MIDI)."""

    note: float
    amount: float
    decay_s: float
    residual: float
    move: float
    centre: float


def fit_glide(t: torch.Tensor, semitones: torch.Tensor) -> Glide:
    """The pitch envelope's curve closest to a track: ``t`` seconds ``Tensor[V]`` and ``semitones`` (MIDI)
    ``Tensor[V]``, least squares per decay of :data:`DECAYS` (note and amount solved in closed form, the amount
    clamped to +-:data:`AMOUNT_ST` and the note solved again), the decay with the smallest residual."""
    t, s = t.double(), semitones.double()
    centre = float(s.median())
    best = None
    for decay in DECAYS.tolist():
        e = torch.exp(-t / decay)
        centred = e - e.mean()
        denominator = float(centred.square().sum())
        amount = float((centred * (s - s.mean())).sum()) / denominator if denominator > 1e-12 else 0.0
        amount = min(max(amount, -AMOUNT_ST), AMOUNT_ST)
        note = float((s - amount * e).mean())
        residual = float((note + amount * e - s).square().mean().sqrt())
        if best is None or residual < best.residual:
            move = abs(amount) * float(e.max() - e.min())
            best = Glide(note, amount, decay, residual, move, centre)
    return best


def estimate_glide(audio: torch.Tensor, config: PitchConfig | None = None,
                   track: tuple[torch.Tensor, torch.Tensor] | None = None) -> Glide | None:
    """The pitch bend of ``audio`` ``Tensor[N]`` (16 kHz, the note starting at 0 s) where it has one: a
    :func:`fit_glide` to its tracked pitch that moves at least :data:`MIN_MOVE` semitones and follows the track
    (:data:`MAX_RESIDUAL`, :data:`MAX_SHARE`), a tracker's stray frames (:data:`OUTLIER_ST`) left out; else None.
    ``track``: the audio's :func:`synth.pitch.pitch_track` where it was made already (``Target.pitch_track``)."""
    t, f0 = track if track is not None else pitch_track(audio, config)
    if t.numel() < MIN_FRAMES:
        return None
    semitones = 69.0 + 12.0 * torch.log2(f0.double() / 440.0)
    glide = fit_glide(t, semitones)
    off = (glide.note + glide.amount * torch.exp(-t.double() / glide.decay_s) - semitones).abs() > OUTLIER_ST
    if bool(off.any()) and float(off.double().mean()) <= OUTLIER_SHARE:
        t, semitones = t[~off], semitones[~off]
        glide = fit_glide(t, semitones)
    spread = float(semitones.std(correction=0))
    if glide.move < MIN_MOVE or glide.residual > MAX_RESIDUAL or glide.residual > MAX_SHARE * spread:
        return None
    return glide


def glide_params(sources: torch.Tensor, glide: Glide) -> torch.Tensor:
    """Plain patches (:func:`inverse.plain.plain_params`) at ``glide.note`` bent by its pitch envelope:
    ``Tensor[S * len(SHAPES), 100]`` normalised for ``sources`` ``Tensor[S, 100]`` (their loudness settings kept).
    Raises ``ValueError`` where the note is beyond what the oscillators play."""
    out = plain_params(sources, midi_to_hz(glide.note))
    out[:, _AMOUNT] = from_physical(PARAM_SPECS[_AMOUNT], glide.amount)
    out[:, _DECAY] = from_physical(PARAM_SPECS[_DECAY], glide.decay_s)
    return out


def bent_copies(rows: torch.Tensor, glide: Glide) -> torch.Tensor:
    """Copies of pool rows ``rows`` ``Tensor[S, 100]`` (normalised) that keep their timbre and are bent by
    ``glide``'s pitch envelope: each row's note moved by ``glide.note - glide.centre`` (a row that matches the target
    sounds near its median pitch; the bend then starts above it and ends at ``glide.note``, and the pitch-aligned
    copies of :mod:`inverse.transpose` correct what is left), clamped to the synth's notes: ``Tensor[S, 100]``."""
    spec = PARAM_SPECS[_NOTE]
    out = rows.detach().clone()
    note = spec.low + out[:, _NOTE] * (spec.high - spec.low) + (glide.note - glide.centre)
    out[:, _NOTE] = ((note - spec.low) / (spec.high - spec.low)).clamp(0.0, 1.0)
    out[:, _AMOUNT] = from_physical(PARAM_SPECS[_AMOUNT], glide.amount)
    out[:, _DECAY] = from_physical(PARAM_SPECS[_DECAY], glide.decay_s)
    return out
