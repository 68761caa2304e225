"""Plain candidates: one oscillator at the target's pitch, every colouring stage off.

The sounds people bring first are often the plainest: a sawtooth from a tone generator, a square lead, a sine
test tone, a plucked string. The synth makes each of them exactly with one oscillator and everything else off, but
those patches are a thin slice of the prior, so neither the flow's draws nor the retrieved training rows come
near: on a 220 Hz sawtooth from sox the ten returned had its pitch and a cluster of detuned, noisy, filtered
partials around it. This module writes the plain patch for a target with a clear pitch (:attr:`Target.pitch_hz`)
in each basic waveform at full velocity, keeping the loudness settings (note gate, amplifier envelope, output
gain) of pool rows that already follow the target's contour or an envelope fitted to it (:func:`fitted_loudness`),
and matches each one's level to the target's. The ranking then decides whether
they are any good; on anything but a plain sound they are not, and they cost one chunk of renders.
"""

from __future__ import annotations

import math

import torch

from synth.control import adsr
from synth.params import PARAM_INDEX, PARAM_SPECS, from_physical
from synth.spectrogram import DEFAULT_CONFIG
from synth.voice import render

#: The synth's basic waveforms (``oscN_shape`` morph positions): sine, triangle, saw, pulse.
SHAPES = (0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0)
#: What every plain candidate sets, in physical units (the rest comes from its source row): the three
#: oscillators in unison at the note with no FM, vibrato, drift or pitch envelope (:func:`level_matched` sets their
#: levels), sub, noise and ring silent, full velocity, the filters open and unmodulated, no waveshaper, chorus,
#: echo, reverb or EQ.
PLAIN = {
    "analog_drift": 0.0, "note_velocity": 1.0, **{f"osc{k}_{name}": value for k in (1, 2, 3) for name, value in (
        ("octave", 0.0), ("semitone", 0.0), ("fine", 0.0), ("level", 1.0 / 3.0), ("pulse_width", 0.5),
        ("fm_ratio", 1.0), ("fm_index", 0.0), ("vibrato", 0.0), ("phase", 0.0))},
    "sub_level": 0.0, "noise_level": 0.0, "ring_level": 0.0, "filter_type": 0.0, "filter_cutoff": 16000.0,
    "filter_resonance": 0.0, "filter_env_amount": 0.0, "filter_keytrack": 0.0, "filter_lfo_amount": 0.0,
    "filter_velocity": 0.0, "hpf_cutoff": 20.0, "hpf_resonance": 0.0, "pitch_env_amount": 0.0,
    "lfo1_pwm": 0.0, "lfo2_tremolo": 0.0, "drive_mix": 0.0, "chorus_mix": 0.0, "delay_mix": 0.0,
    "reverb_mix": 0.0, "eq_low_gain": 0.0, "eq_mid_gain": 0.0, "eq_high_gain": 0.0,
}
_PLAIN_INDEX = torch.tensor([PARAM_INDEX[name] for name in PLAIN])
_PLAIN_VALUES = torch.tensor([from_physical(PARAM_SPECS[PARAM_INDEX[name]], value) for name, value in PLAIN.items()])
_NOTE, _GAIN = PARAM_INDEX["note_pitch"], PARAM_INDEX["output_gain"]
#: The loudness settings an envelope fit writes (:func:`fitted_loudness`).
ENVELOPE = ("amp_env_attack", "amp_env_decay", "amp_env_sustain", "amp_env_release", "note_gate", "amp_env_curve")
ENVELOPE_HOP = 256  # samples per frame of the target's level contour (16 ms)
ENVELOPE_FLOOR_DB = -60.0  # the contours are compared above this (re their peaks)
#: The grid the envelope fit searches (seconds, levels, curvature), every combination.
ENVELOPE_GRID = {
    "amp_env_attack": (0.001, 0.005, 0.02, 0.06, 0.15, 0.4),
    "amp_env_decay": (0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 3.0),
    "amp_env_sustain": (0.0, 0.1, 0.3, 0.6, 1.0),
    "amp_env_release": (0.005, 0.02, 0.06, 0.15, 0.4, 1.0, 2.5),
    "amp_env_curve": (0.0, 0.5, 1.0),
}
_OCTAVES = [PARAM_INDEX[f"osc{k}_octave"] for k in (1, 2, 3)]
_SHAPES = [PARAM_INDEX[f"osc{k}_shape"] for k in (1, 2, 3)]
_LEVELS = [PARAM_INDEX[f"osc{k}_level"] for k in (1, 2, 3)]
LEVEL_ROUNDS = 2  # renders that set the level (the output's soft clipper makes one guess fall short near full scale)


def note_and_octave(f0_hz: float) -> tuple[float, float]:
    """The ``note_pitch`` (MIDI, fractional) and oscillator octave offset that sound ``f0_hz``: the note itself
    where it is in the synth's range (24-96), else moved by whole octaves into it with the oscillators moved the
    other way (at most 2). Raises ``ValueError`` for a pitch no octave offset reaches."""
    note = 69.0 + 12.0 * math.log2(f0_hz / 440.0)
    spec = PARAM_SPECS[_NOTE]
    octave = 0
    while note < spec.low and octave > -2:
        note, octave = note + 12.0, octave - 1
    while note > spec.high and octave < 2:
        note, octave = note - 12.0, octave + 1
    if not spec.low <= note <= spec.high:
        raise ValueError(f"{f0_hz:.1f} Hz is outside what the synth's oscillators play")
    return note, float(octave)


def level_contour_db(audio: torch.Tensor) -> torch.Tensor:
    """The level of ``audio`` ``Tensor[N]`` in frames of :data:`ENVELOPE_HOP` samples: ``Tensor[F]`` dB re its
    loudest frame, floored at :data:`ENVELOPE_FLOOR_DB`."""
    frames = audio[: audio.shape[0] // ENVELOPE_HOP * ENVELOPE_HOP].reshape(-1, ENVELOPE_HOP)
    power = frames.pow(2).mean(dim=1)
    db = 10.0 * torch.log10(power.clamp_min(1e-20) / power.max().clamp_min(1e-20))
    return db.clamp_min(ENVELOPE_FLOOR_DB)


@torch.no_grad()
def fitted_loudness(audio: torch.Tensor) -> dict[str, float]:
    """The amplifier envelope and note gate (physical units, :data:`ENVELOPE`) whose contour is closest to
    ``audio``'s (``Tensor[N]`` at 16 kHz; mean |dB| over frames, :func:`level_contour_db`): every combination of
    :data:`ENVELOPE_GRID` with each gate at which the sound could be released (its last sounding frame minus each
    release time), computed on the envelope alone (no render; 0.03-0.08 s on a 2-core AMD EPYC)."""
    contour = level_contour_db(audio)
    t = (torch.arange(contour.shape[0], dtype=torch.float32) + 0.5) * (ENVELOPE_HOP / DEFAULT_CONFIG.sample_rate)
    sounding = (contour > ENVELOPE_FLOOR_DB + 1.0).nonzero()
    end = float(t[int(sounding[-1])]) if len(sounding) else float(t[-1])
    gate_spec = PARAM_SPECS[PARAM_INDEX["note_gate"]]
    grid = torch.cartesian_prod(*(torch.tensor(v) for v in ENVELOPE_GRID.values()))  # (G, 5)
    attack, decay, sustain, release, curve = grid.T[:, :, None]
    best, best_error = None, math.inf
    for fraction in (0.0, 0.25, 0.5, 1.0):  # the gate: the end minus this share of each release time
        gate = (end - fraction * release).clamp(gate_spec.low, gate_spec.high)
        level = adsr(t, attack, decay, sustain, release, gate, curve)  # (G, F)
        db = (20.0 * torch.log10(level.clamp_min(1e-10))).clamp_min(ENVELOPE_FLOOR_DB)
        error = (db - contour).abs().mean(dim=1)
        i = int(error.argmin())
        if float(error[i]) < best_error:
            best_error = float(error[i])
            best = dict(zip(("amp_env_attack", "amp_env_decay", "amp_env_sustain", "amp_env_release"),
                            grid[i, :4].tolist()), note_gate=float(gate[i]), amp_env_curve=float(grid[i, 4]))
    return best


def with_loudness(params: torch.Tensor, values: dict[str, float]) -> torch.Tensor:
    """A copy of ``params`` ``Tensor[P, 100]`` (normalised) with the settings in ``values`` (physical units, e.g.
    :func:`fitted_loudness`'s)."""
    out = params.detach().clone()
    for name, value in values.items():
        spec = PARAM_SPECS[PARAM_INDEX[name]]
        out[:, PARAM_INDEX[name]] = from_physical(spec, min(max(value, spec.low), spec.high))
    return out


def plain_params(sources: torch.Tensor, f0_hz: float) -> torch.Tensor:
    """Plain patches at ``f0_hz``: ``Tensor[S * len(SHAPES), 100]`` normalised, for each source row of ``sources``
    ``Tensor[S, 100]`` (normalised) its loudness settings (note gate, amplifier envelope, output gain)
    with the three oscillators playing one waveform of :data:`SHAPES` in unison and in phase (one oscillator's
    sound, up to 3x its level) and everything in :data:`PLAIN` (rows ``s * len(SHAPES) + k``)."""
    note, octave = note_and_octave(f0_hz)
    out = plain_rows(sources, len(SHAPES))
    out[:, _NOTE] = from_physical(PARAM_SPECS[_NOTE], note)
    out[:, _OCTAVES] = from_physical(PARAM_SPECS[_OCTAVES[0]], octave)
    out[:, _SHAPES] = torch.tensor(SHAPES).repeat(sources.shape[0])[:, None]
    return out


def plain_rows(sources: torch.Tensor, copies: int) -> torch.Tensor:
    """Each row of ``sources`` ``Tensor[S, 100]`` (normalised) ``copies`` times over (rows ``s * copies + k``) with
    everything in :data:`PLAIN` set: its loudness settings (note gate, amplifier envelope, output gain) and the rest
    of its note kept, every colouring stage off, the oscillators in unison at the note: ``Tensor[S * copies, 100]``."""
    out = sources.detach().float().repeat_interleave(copies, dim=0)
    out[:, _PLAIN_INDEX] = _PLAIN_VALUES
    return out


def level_matched(params: torch.Tensor, target_audio: torch.Tensor, render_path: str = "auto") -> torch.Tensor:
    """Plain patches ``params`` ``Tensor[P, 100]`` (:func:`plain_params`) at the RMS level of ``target_audio``
    ``Tensor[N]``, over :data:`LEVEL_ROUNDS` renders of ``params``. The output gain sets the level within its
    -24..0 dB; what it cannot reach, the oscillators' levels do, filled one after the other (they play in unison and
    in phase, so their levels add): the first alone up to full level, then the second, then the third. A slot left
    silent has all its settings inaudible, free for the spread to draw anew (:mod:`inverse.spread`)."""
    spec = PARAM_SPECS[_GAIN]
    lowest = 10.0 ** (spec.low / 20.0)
    out = params.clone()
    for _ in range(LEVEL_ROUNDS):
        gain = 10.0 ** ((spec.low + out[:, _GAIN] * (spec.high - spec.low)) / 20.0)
        # the mix's linear scale: 1 is one oscillator at full level through 0 dB of output gain
        scale = out[:, _LEVELS].sum(dim=1) * gain * level_ratio(out, target_audio, render_path)
        gain = scale.clamp(lowest, 1.0)
        total = (scale / gain).clamp(max=float(len(_LEVELS)))
        for k, column in enumerate(_LEVELS):
            out[:, column] = (total - k).clamp(0.0, 1.0)
        out[:, _GAIN] = ((20.0 * torch.log10(gain) - spec.low) / (spec.high - spec.low)).clamp(0.0, 1.0)
    return out


def gain_matched(params: torch.Tensor, target_audio: torch.Tensor, render_path: str = "auto") -> torch.Tensor:
    """``params`` ``Tensor[P, 100]`` (normalised) with the output gain moved (within its -24..0 dB) so that each
    row's RMS level meets ``target_audio``'s (``Tensor[N]``), in one render (the soft clipper may leave a loud
    row short)."""
    spec = PARAM_SPECS[_GAIN]
    ratio = level_ratio(params, target_audio, render_path)
    gain_db = spec.low + params[:, _GAIN] * (spec.high - spec.low) + 20.0 * torch.log10(ratio)
    out = params.clone()
    out[:, _GAIN] = ((gain_db - spec.low) / (spec.high - spec.low)).clamp(0.0, 1.0)
    return out


@torch.no_grad()
def level_ratio(params: torch.Tensor, target_audio: torch.Tensor, render_path: str = "auto") -> torch.Tensor:
    """``target_audio``'s RMS level over each rendered row's of ``params`` ``Tensor[P, 100]``: ``Tensor[P]``."""
    wanted = float(target_audio.pow(2).mean().sqrt().clamp_min(1e-8))
    return wanted / render(params, path=render_path).pow(2).mean(dim=1).sqrt().clamp_min(1e-8)
