"""The Synth tab's work: a small patch editor over the parameters that shape a sound most.

A patch is the normalised ``Tensor[100]`` of :mod:`synth.params`; the page shows :data:`EDITABLE` of them as
sliders in physical units (Hz, s, dB, semitones), keeps the other 90 as loaded, and renders on every change.
It starts from the shipped example patch; a patch JSON upload or a matched candidate replaces it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from inverse.checkpoint import DEFAULT_MODEL
from synth.errors import InputError
from synth.notes import note_name
from synth.params import PARAM_INDEX, PARAM_SPECS, ParamSpec, from_physical, to_physical
from synth.patch import load_patch, patch_to_dict
from synth.phrase import midi_notes, parse_phrase, play_notes, timed
from synth.spectrogram import DEFAULT_CONFIG, spectrogram
from synth.voice import render
from webapp.uploads import display_name

#: The sliders of the Synth tab: pitch, the oscillator mix, the filter, the amplitude envelope, effects, level.
EDITABLE = ("note_pitch", "note_gate", "osc1_shape", "osc1_level", "osc2_level", "osc3_level", "noise_level",
            "filter_cutoff", "filter_resonance", "filter_env_amount", "amp_env_attack", "amp_env_decay",
            "amp_env_sustain", "amp_env_release", "drive_gain", "chorus_mix", "delay_mix", "reverb_mix",
            "output_gain")
DEFAULT_PATCH = DEFAULT_MODEL.parent / "example.patch.json"
SAMPLE_RATE = DEFAULT_CONFIG.sample_rate
MAX_PATCH_BYTES = 1_000_000


@dataclass(frozen=True)
class Slider:
    """One slider: a parameter's range and step in its physical unit."""

    spec: ParamSpec

    @property
    def label(self) -> str:
        unit = "" if self.spec.unit == "index" else f" ({self.spec.unit})"
        return f"{self.spec.name}{unit}"

    @property
    def step(self) -> float:
        spec = self.spec
        if spec.is_discrete:
            return (spec.high - spec.low) / (spec.choices - 1) if spec.choices > 1 else 1.0
        return float(f"{(spec.high - spec.low) / 1000:.1g}")


SLIDERS = tuple(Slider(PARAM_SPECS[PARAM_INDEX[name]]) for name in EDITABLE)


def read_patch(path: str | os.PathLike) -> torch.Tensor:
    """An uploaded patch JSON -> normalised ``Tensor[100]``; problems are one line naming the file."""
    name = display_name(path)
    if os.path.getsize(path) > MAX_PATCH_BYTES:
        raise InputError(f"{name}: a patch JSON is a few kB; this file is {os.path.getsize(path) / 1e6:.1f} MB")
    try:
        return load_patch(path)
    except InputError as error:
        raise InputError(str(error).replace(os.fspath(path), name)) from None


def default_patch() -> torch.Tensor:
    return load_patch(DEFAULT_PATCH)


def slider_values(params: torch.Tensor) -> list[float]:
    """The sliders' physical values for the normalised patch ``params`` ``Tensor[100]``."""
    return [round(to_physical(s.spec, float(params[PARAM_INDEX[s.spec.name]])), 6) for s in SLIDERS]


def apply_sliders(params: torch.Tensor, values: list[float | None]) -> torch.Tensor:
    """``params`` with the sliders' physical ``values`` written in (one per :data:`SLIDERS`); out-of-range or
    missing values are an :class:`InputError`."""
    if len(values) != len(SLIDERS):
        raise InputError(f"expected {len(SLIDERS)} slider values, got {len(values)}")
    edited = params.clone()
    for slider, value in zip(SLIDERS, values, strict=True):
        if value is None:
            raise InputError(f"{slider.spec.name}: expected a number")
        try:
            edited[PARAM_INDEX[slider.spec.name]] = from_physical(slider.spec, _snap(slider, float(value)))
        except ValueError as error:
            raise InputError(str(error)) from None
    return edited


def _snap(slider: Slider, value: float) -> float:
    """Discrete values to the nearest allowed one (a slider can land between them)."""
    spec = slider.spec
    if not spec.is_discrete:
        return value
    k = round((value - spec.low) / slider.step)
    return spec.value_of_index(min(max(k, 0), spec.choices - 1))


@torch.no_grad()
def render_patch(params: torch.Tensor) -> tuple[np.ndarray, torch.Tensor]:
    """Render one normalised patch: float32 audio ``[65408]`` at 16 kHz and its normalised spectrogram
    ``Tensor[512, 512]``."""
    audio = render(params[None].float())
    return audio[0].numpy(), spectrogram(audio)[0]


#: The phrase box's first text: a rising arpeggio, then the chord held.
DEFAULT_PHRASE = "C3 E3 G3 C4:2 - C3+E3+G3:4"


def play_phrase(params: torch.Tensor, text: str, bpm: float, midi: str | os.PathLike | None = None
                ) -> tuple[np.ndarray, str]:
    """The normalised patch ``params`` ``Tensor[100]`` played as phrase ``text`` at ``bpm``, or the notes of the MIDI
    file ``midi`` where one is given (:func:`synth.phrase.play_notes`): 16-bit samples ``[N]`` at 16 kHz (what the
    page's player takes) and one line saying what was played. Bad notes or files are an :class:`InputError`."""
    if midi:
        try:
            notes = midi_notes(midi)
        except InputError as error:
            raise InputError(str(error).replace(os.fspath(midi), display_name(midi))) from None
    elif bpm is None:
        raise InputError("bpm: expected a positive number of beats per minute")
    else:
        notes = timed(parse_phrase(text or ""), float(bpm))
    phrase = play_notes(params, notes)
    audio = (phrase.audio.clamp(-1.0, 1.0) * 32767.0).round().to(torch.int16).numpy()
    said = "; ".join(phrase.messages)
    return audio, f"played {len(phrase.notes)} note(s), {phrase.duration_s:.1f} s" + (f": {said}" if said else "")


def write_soundfont(params: torch.Tensor, folder: str | os.PathLike, name: str = "patch") -> tuple[Path, str]:
    """The normalised patch ``params`` ``Tensor[100]`` as a SoundFont 2 instrument (:mod:`synth.instrument`, the
    command's defaults) in ``folder``, for the page's download, and one line saying what it holds."""
    from synth.instrument import sampled_instrument  # (torchaudio's resampler: only when a font is made)

    instrument = sampled_instrument(params)
    path = Path(folder) / f"{name}.sf2"
    size = instrument.write(path, name)
    first, last = instrument.zones[0].root_key, instrument.zones[-1].root_key
    return path, (f"wrote {path.name}: {len(instrument.zones)} notes from {note_name(first)} to {note_name(last)}, "
                  f"{size / 1e6:.1f} MB at 48 kHz (bank 0, program 0 in any sampler); " + "; ".join(
                      instrument.messages))


def write_patch(params: torch.Tensor, folder: str | os.PathLike, name: str = "edited.patch.json") -> Path:
    """The patch as JSON in ``folder`` (under the app's temporary directory), for the page's download."""
    path = Path(folder) / name
    path.write_text(json.dumps(patch_to_dict(params), indent=2) + "\n")
    return path
