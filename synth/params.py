"""The synthesizer's 100 parameters, declared as data.

Every parameter is one :class:`ParamSpec`. The interchange form is a float tensor ``(B, 100)`` in
[0, 1] ("normalised"); :func:`to_physical` / :func:`from_physical` map between it and the units people
use (Hz, seconds, dB, semitones). A discrete parameter with ``choices = N`` reads index
``min(N - 1, floor(x * N))``; its canonical normalised value is the centre of its bin, ``(k + 0.5) / N``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

#: Changes whenever the sound of some parameter vector changes. Datasets and checkpoints record it.
SYNTH_VERSION = "1.0.0"


@dataclass(frozen=True)
class ParamSpec:
    """One synth parameter: its range in physical units and how [0, 1] maps onto it."""

    name: str
    group: str
    low: float
    high: float
    scale: str  # "linear" or "log" (log: low * (high / low) ** x; needs low > 0)
    unit: str
    choices: int | None  # None: continuous; N: discrete with N evenly spaced values low..high
    description: str
    labels: tuple[str, ...] | None = None  # names of the discrete values, where they have names

    @property
    def is_discrete(self) -> bool:
        return self.choices is not None

    def value_of_index(self, index: int) -> float:
        """Physical value of discrete index ``index`` (0..choices-1)."""
        assert self.choices is not None
        if self.choices == 1:
            return self.low
        return self.low + index * (self.high - self.low) / (self.choices - 1)

    def format(self, x: float) -> str:
        """Normalised value ``x`` as people read it: a label (``"saw"``) or a number with its unit (``"440 Hz"``)."""
        value = to_physical(self, x)
        if self.labels:
            return self.labels[int(round((value - self.low) * (self.choices - 1) / (self.high - self.low)))
                               if self.choices and self.choices > 1 and self.high > self.low else 0]
        number = f"{value:.0f}" if self.is_discrete or abs(value) >= 100 else f"{value:.3g}"
        return number if self.unit == "index" else f"{number} {self.unit}"

    def to_json(self) -> dict:
        out = asdict(self)
        out["labels"] = list(self.labels) if self.labels else None
        return out


def _c(name, group, low, high, unit, description, scale="linear"):
    return ParamSpec(name, group, float(low), float(high), scale, unit, None, description)


def _d(name, group, low, high, choices, unit, description, labels=None):
    return ParamSpec(name, group, float(low), float(high), "linear", unit, choices, description,
                     tuple(labels) if labels else None)


def _oscillator(i: int) -> list[ParamSpec]:
    g = f"osc{i}"
    return [
        _c(f"osc{i}_shape", g, 0, 1, "morph", "waveform morph: 0 sine, 1/3 triangle, 2/3 saw, 1 pulse"),
        _d(f"osc{i}_octave", g, -2, 2, 5, "oct", "octave offset from the note"),
        _d(f"osc{i}_semitone", g, -12, 12, 25, "st", "semitone offset from the note"),
        _c(f"osc{i}_fine", g, -50, 50, "cent", "fine tuning"),
        _c(f"osc{i}_level", g, 0, 1, "gain", "mixer level (linear amplitude)"),
        _c(f"osc{i}_pulse_width", g, 0.05, 0.95, "duty", "pulse width; audible only when the shape is near pulse"),
        _c(f"osc{i}_fm_ratio", g, 0.5, 8, "ratio", "frequency ratio of this oscillator's own sine modulator",
           "log"),
        _c(f"osc{i}_fm_index", g, 0, 6, "rad", "phase-modulation index of the sine modulator (0: no FM)"),
        _c(f"osc{i}_vibrato", g, 0, 100, "cent", "depth of LFO 1 on this oscillator's pitch"),
        _c(f"osc{i}_phase", g, 0, 1, "cycle", "start phase; audible mostly against an oscillator at the same pitch"),
    ]


def _envelope(prefix: str, group: str, what: str) -> list[ParamSpec]:
    return [
        _c(f"{prefix}_attack", group, 0.001, 4, "s", f"{what} attack time", "log"),
        _c(f"{prefix}_decay", group, 0.005, 4, "s", f"{what} decay time", "log"),
        _c(f"{prefix}_sustain", group, 0, 1, "level", f"{what} sustain level"),
        _c(f"{prefix}_release", group, 0.005, 4, "s", f"{what} release time after the gate closes", "log"),
        _c(f"{prefix}_curve", group, 0, 1, "shape", f"{what} segment curvature: 0 linear, 1 strongly exponential"),
    ]


_LFO_SHAPES = ("sine", "triangle", "saw", "square", "sample_hold")


def _lfo(i: int) -> list[ParamSpec]:
    g = f"lfo{i}"
    return [
        _c(f"lfo{i}_rate", g, 0.05, 20, "Hz", "rate", "log"),
        _d(f"lfo{i}_shape", g, 0, 4, 5, "index", "waveform", _LFO_SHAPES),
        _c(f"lfo{i}_phase", g, 0, 1, "cycle", "start phase"),
        _c(f"lfo{i}_fade", g, 0, 2, "s", "fade-in time from the note start"),
    ]


_SPECS: list[ParamSpec] = [
    _c("note_pitch", "note", 24, 96, "MIDI", "played note (MIDI number; 69 = A4 = 440 Hz)"),
    _c("note_velocity", "note", 0, 1, "velocity", "key velocity"),
    _c("note_gate", "note", 0.05, 3.5, "s", "time until the key is released", "log"),
    _c("analog_drift", "note", 0, 20, "cent", "slow pitch wander, its own per oscillator (fixed table)"),
    *_oscillator(1),
    *_oscillator(2),
    *_oscillator(3),
    _c("sub_level", "sub", 0, 1, "gain", "sub-oscillator level"),
    _d("sub_octave", "sub", -2, -1, 2, "oct", "sub-oscillator octave below oscillator 1's note"),
    _d("sub_shape", "sub", 0, 1, 2, "index", "sub-oscillator waveform", ("sine", "square")),
    _c("noise_level", "noise", 0, 1, "gain", "noise level"),
    _c("noise_color", "noise", -2, 1, "dB/oct/3", "spectral slope exponent: -2 brown, -1 pink, 0 white, 1 blue"),
    _c("noise_decay", "noise", 0.01, 10, "s", "noise's own decay time (short: a click; long: steady)", "log"),
    _d("noise_route", "noise", 0, 1, 2, "index", "where the noise enters", ("through_filter", "after_filter")),
    _c("ring_level", "ring", 0, 1, "gain", "level of oscillator 1 x oscillator 2 (ring modulation)"),
    _d("filter_type", "filter", 0, 3, 4, "index", "main filter response", ("lowpass", "bandpass", "highpass", "notch")),
    _d("filter_slope", "filter", 12, 24, 2, "dB/oct", "main filter slope (2 or 4 poles)"),
    _c("filter_cutoff", "filter", 30, 16000, "Hz", "cutoff frequency before modulation", "log"),
    _c("filter_resonance", "filter", 0, 1, "amount", "resonance (Q from 0.5 to 20)"),
    _c("filter_env_amount", "filter", -6, 6, "oct", "filter envelope depth on the cutoff"),
    _c("filter_keytrack", "filter", 0, 1, "ratio", "cutoff follows the note (1: one octave per octave)"),
    _c("filter_lfo_amount", "filter", 0, 3, "oct", "LFO 2 depth on the cutoff"),
    _c("filter_velocity", "filter", 0, 3, "oct", "velocity depth on the cutoff"),
    _c("hpf_cutoff", "filter", 20, 2000, "Hz", "static high-pass filter cutoff", "log"),
    _c("hpf_resonance", "filter", 0, 1, "amount", "high-pass resonance (Q from 0.5 to 8)"),
    *_envelope("filter_env", "filter_env", "filter envelope"),
    *_envelope("amp_env", "amp_env", "amplifier envelope"),
    _c("amp_velocity", "amp_env", 0, 1, "amount", "how much velocity scales loudness"),
    _c("pitch_env_amount", "pitch_env", -24, 24, "st", "pitch envelope depth at the note start"),
    _c("pitch_env_decay", "pitch_env", 0.005, 2, "s", "pitch envelope decay time", "log"),
    *_lfo(1),
    *_lfo(2),
    _c("lfo1_pwm", "lfo1", 0, 0.45, "duty", "LFO 1 depth on the pulse width (audible only on pulse shapes)"),
    _c("lfo2_tremolo", "lfo2", 0, 1, "amount", "LFO 2 depth on the amplitude"),
    _c("drive_gain", "drive", 0, 36, "dB", "gain into the waveshaper (before the filter)"),
    _d("drive_type", "drive", 0, 2, 3, "index", "waveshaper curve", ("tanh", "cubic", "fold")),
    _c("drive_mix", "drive", 0, 1, "wet", "dry/wet mix of the waveshaper"),
    _c("drive_bias", "drive", 0, 0.5, "offset", "waveshaper asymmetry (even harmonics); audible only with drive"),
    _c("chorus_mix", "chorus", 0, 1, "wet", "chorus dry/wet"),
    _c("chorus_rate", "chorus", 0.05, 5, "Hz", "chorus modulation rate", "log"),
    _c("chorus_depth", "chorus", 0, 8, "ms", "chorus modulation depth"),
    _c("chorus_delay", "chorus", 2, 25, "ms", "chorus base delay"),
    _c("delay_mix", "delay", 0, 1, "wet", "echo level"),
    _c("delay_time", "delay", 0.02, 1.0, "s", "echo time", "log"),
    _c("delay_feedback", "delay", 0, 0.9, "gain", "echo feedback"),
    _c("delay_damping", "delay", 500, 16000, "Hz", "low-pass cutoff applied at each echo", "log"),
    _c("reverb_mix", "reverb", 0, 1, "wet", "reverb level"),
    _c("reverb_decay", "reverb", 0.1, 8, "s", "reverb RT60 at low frequencies", "log"),
    _c("reverb_predelay", "reverb", 0, 0.1, "s", "reverb pre-delay"),
    _c("reverb_early", "reverb", 0, 1, "gain", "early-reflection level relative to the diffuse tail"),
    _c("reverb_damping", "reverb", 1000, 16000, "Hz", "frequency above which the reverb decays twice as fast",
       "log"),
    _c("eq_low_gain", "eq", -12, 12, "dB", "low-shelf gain"),
    _c("eq_low_freq", "eq", 40, 600, "Hz", "low-shelf corner", "log"),
    _c("eq_mid_gain", "eq", -12, 12, "dB", "peaking band gain"),
    _c("eq_mid_freq", "eq", 200, 6000, "Hz", "peaking band centre", "log"),
    _c("eq_mid_q", "eq", 0.3, 8, "Q", "peaking band quality factor", "log"),
    _c("eq_high_gain", "eq", -12, 12, "dB", "high-shelf gain"),
    _c("eq_high_freq", "eq", 1500, 7500, "Hz", "high-shelf corner", "log"),
    _c("output_gain", "output", -24, 0, "dB", "output level before the safety soft-clipper"),
]

PARAM_SPECS: tuple[ParamSpec, ...] = tuple(_SPECS)
NUM_PARAMS = len(PARAM_SPECS)
PARAM_NAMES: tuple[str, ...] = tuple(s.name for s in PARAM_SPECS)
PARAM_INDEX: dict[str, int] = {name: i for i, name in enumerate(PARAM_NAMES)}
CONTINUOUS_INDICES: tuple[int, ...] = tuple(i for i, s in enumerate(PARAM_SPECS) if not s.is_discrete)
DISCRETE_INDICES: tuple[int, ...] = tuple(i for i, s in enumerate(PARAM_SPECS) if s.is_discrete)


def discrete_index(x: torch.Tensor, choices: int) -> torch.Tensor:
    """Index ``min(N - 1, floor(x * N))`` of normalised values ``x`` (any shape), as int64."""
    return torch.clamp(torch.floor(x * choices), 0, choices - 1).long()


def to_physical(spec: ParamSpec, x: float) -> float:
    """Normalised value in [0, 1] -> physical value (discrete: the value of its index)."""
    if spec.choices is not None:
        return spec.value_of_index(min(spec.choices - 1, max(0, math.floor(x * spec.choices))))
    if spec.scale == "log":
        return spec.low * (spec.high / spec.low) ** x
    return spec.low + x * (spec.high - spec.low)


def from_physical(spec: ParamSpec, value: float) -> float:
    """Physical value -> normalised value (discrete: the centre of the value's bin).

    Raises ``ValueError`` with a one-line message if ``value`` is outside the range, not finite, or
    (discrete) not one of the allowed values.
    """
    if not math.isfinite(value):
        raise ValueError(f"{spec.name}: value {value!r} is not a finite number")
    tol = 1e-6 * max(1.0, abs(spec.high - spec.low))
    if value < spec.low - tol or value > spec.high + tol:
        raise ValueError(f"{spec.name}: {value:g} {spec.unit} is outside [{spec.low:g}, {spec.high:g}]")
    if spec.choices is not None:
        step = (spec.high - spec.low) / (spec.choices - 1) if spec.choices > 1 else 1.0
        k = (value - spec.low) / step
        if abs(k - round(k)) > 1e-6:
            allowed = ", ".join(f"{spec.value_of_index(j):g}" for j in range(spec.choices))
            raise ValueError(f"{spec.name}: {value:g} is not one of the allowed values ({allowed})")
        return (round(k) + 0.5) / spec.choices
    if spec.scale == "log":
        x = math.log(max(value, spec.low) / spec.low) / math.log(spec.high / spec.low)
    else:
        x = (value - spec.low) / (spec.high - spec.low)
    return min(1.0, max(0.0, x))


def physical_dict(normalized: torch.Tensor) -> dict[str, float]:
    """One normalised vector ``(100,)`` -> ``{name: physical value}`` in spec order."""
    if normalized.shape != (NUM_PARAMS,):
        raise ValueError(f"expected a parameter vector of shape ({NUM_PARAMS},), got {tuple(normalized.shape)}")
    return {s.name: to_physical(s, float(v)) for s, v in zip(PARAM_SPECS, normalized.tolist())}


def canonicalize(params: torch.Tensor) -> torch.Tensor:
    """Snap discrete parameters to the centres of their bins. ``(B, 100)`` -> ``(B, 100)``; same sound."""
    out = params.clone()
    for i in DISCRETE_INDICES:
        n = PARAM_SPECS[i].choices
        out[:, i] = (discrete_index(params[:, i], n).to(params.dtype) + 0.5) / n
    return out


def spec_json() -> list[dict]:
    """The whole parameter specification as JSON-ready data (stored with datasets and checkpoints)."""
    return [s.to_json() for s in PARAM_SPECS]


assert NUM_PARAMS == 100, f"the synth must have exactly 100 parameters, has {NUM_PARAMS}"
assert len(set(PARAM_NAMES)) == NUM_PARAMS, "parameter names must be unique"
