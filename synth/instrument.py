"""A patch as a sampled instrument for samplers and DAWs: notes rendered every few semitones (and at several
velocities), each mapped over the keys around it, written as a SoundFont 2 file (:mod:`synth.sf2`).

The synth is not a plugin, so a match reaches a DAW as samples. Each sampled note is placed as :mod:`synth.phrase`
places a phrase's notes (``note_pitch`` moved so that it *sounds* at its key: the patch's own pitch read first),
rendered with the key held for ``note_gate``'s longest (3.5 s) and its release after, the trailing silence cut. A
sampler plays the nearest sample shifted by at most half the spacing (``every`` 3: one semitone), from its start while
the key is held and with the patch's amplifier release after the key is let go. A note whose sound has settled
loops its sustain (:mod:`synth.sustain_loop`), so a key sustains as long as it is held; one still decaying or
changing at 3.4 s plays once, its own release heard where a key is held past 3.5 s (as ``synth play`` holds notes
longer than that), and ``loop=False`` plays every note once. One velocity layer (the default)
is the patch's own velocity, and the sampler's usual velocity response scales it; with ``layers`` of them each
range of velocities plays notes rendered at its own (the synth's ``amp_velocity`` and ``filter_velocity`` heard),
the sampler's velocity response turned off. The filter envelope's release is in the samples, not after an early
key-up.

The samples are stored at 48 kHz by default (``rate``), resampled from the synth's 16 kHz with a band-limited sinc:
a sampler at a DAW's 44.1 or 48 kHz then plays a sampled note unresampled and shifts the others with content far
below its Nyquist frequency, where its interpolation is transparent (fluidsynth's 4-point interpolation of 16 kHz
samples takes 2.5 dB off 6-7 kHz and 6.5 dB off 7-8 kHz). The synth's band still ends at 8 kHz.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from synth.errors import InputError
from synth.params import PARAM_NAMES, PARAM_SPECS, from_physical, to_physical
from synth.phrase import BATCH_ROWS, GATE, PITCH, SILENCE, VELOCITY, note_label, placement
from synth.sf2 import Zone, write_sf2
from synth.spectrogram import DEFAULT_CONFIG
from synth.sustain_loop import LOOP_END_S, SustainLoop, find_loop, with_loop

RELEASE = PARAM_NAMES.index("amp_env_release")
#: The end of a sample still sounding when the render stops is faded out over this many seconds (no click).
FADE_S = 0.01
#: The key is let go this long after the note-on when the release is measured (:func:`release_seconds`).
RELEASE_GATE_S = 0.5
#: The release is fitted over its first this many dB (or down to the floor, or to the render's end).
RELEASE_FIT_DB = 60.0
#: A sampler's volume release falls this many dB over its time (SoundFont 2: to 100 % attenuation, ~100 dB).
SAMPLER_RELEASE_DB = 100.0
#: Sample rates a font can be written at (Hz): the synth's own, and what DAWs run at.
RATES = (16000, 44100, 48000)
#: The most zones (sampled notes x velocity layers) a file gets: every key at 4 layers, or every other key at 8
#: (~200 MB at 48 kHz, twice that in memory while it is written).
MAX_ZONES = 512


@dataclass
class Instrument:
    """A sampled instrument: its ``zones`` (:class:`synth.sf2.Zone`), the amplifier ``release_s`` after a key-up,
    ``layered`` (velocity layers rendered, the sampler's velocity response off), ``offset`` and ``placed_by`` (as
    :class:`synth.phrase.Phrase`'s) and ``messages`` for the user."""

    zones: list[Zone]
    release_s: float
    layered: bool
    offset: float
    placed_by: str
    messages: list[str] = field(default_factory=list)

    def write(self, path: str | os.PathLike, name: str) -> int:
        """Write the SoundFont 2 file (one preset ``name``, bank 0, program 0); returns its size in bytes."""
        return write_sf2(path, name, self.zones, self.release_s, self.layered)

    def to_json(self) -> list[dict]:
        return [{"name": z.name, "root": note_label(z.root_key), "root_key": z.root_key, "keys": list(z.keys),
                 "velocities": list(z.velocities), "seconds": round(z.audio.size / z.sample_rate, 4),
                 "loop_s": None if z.loop is None else [round(k / z.sample_rate, 6) for k in z.loop],
                 "peak_dbfs": round(20.0 * math.log10(max(float(np.abs(z.audio).max()), 1e-10)), 2)}
                for z in self.zones]


def sampled_keys(low: int, high: int, every: int) -> list[tuple[int, tuple[int, int]]]:
    """Sampled notes from ``low`` to ``high`` (MIDI, within 0..127) every ``every`` semitones (``high`` itself the
    last one), each with the keys it plays: those nearer to it than to its neighbours (a tie goes to the lower
    sample, played a semitone up), the first reaching down to key 0 and the last up to 127."""
    if not 0 <= low <= high <= 127 or every < 1:
        raise ValueError(f"sampled keys {low}..{high} every {every}: expected 0 <= low <= high <= 127, every >= 1")
    roots = list(range(low, high, every)) + [high]
    if len(roots) > 1 and roots[-1] - roots[-2] < every / 2:
        roots.pop(-2)  # a last step much shorter than the others: the top note alone
    bounds = [0] + [(a + b) // 2 + 1 for a, b in zip(roots, roots[1:])] + [128]
    return [(root, (bounds[k], bounds[k + 1] - 1)) for k, root in enumerate(roots)]


def velocity_layers(layers: int, own: float) -> list[tuple[float, tuple[int, int]]]:
    """The velocity (0-1) each layer is rendered at and the MIDI velocities (1-127) it plays: one layer, the patch's
    own velocity ``own`` for all of them; several, 1-127 cut into equal ranges, each rendered at its top."""
    if layers == 1:
        return [(own, (0, 127))]
    tops = [round(127 * (k + 1) / layers) for k in range(layers)]
    return [(top / 127.0, (1 if k == 0 else tops[k - 1] + 1, top)) for k, top in enumerate(tops)]


def release_seconds(normalized: Tensor, note_pitch: float, path: str = "auto") -> float | None:
    """The sampler release time (seconds, to fall :data:`SAMPLER_RELEASE_DB`) that falls as fast as patch
    ``normalized`` ``Tensor[100]`` does after its key is let go, played at ``note_pitch``: its level (10 ms frames, dB)
    from :data:`RELEASE_GATE_S` after the note-on, fitted by a line over the first :data:`RELEASE_FIT_DB` of the fall.
    The synth's release has a curve (``amp_env_curve``) and effects ring on, a sampler's falls at one rate in dB: the
    fit matches the part that is heard. None where the note is silent at the key-up (nothing to release)."""
    from synth import render

    row = normalized.float().reshape(1, -1).clone()
    row[0, PITCH] = from_physical(PARAM_SPECS[PITCH], note_pitch)
    row[0, GATE] = from_physical(PARAM_SPECS[GATE], RELEASE_GATE_S)
    audio = render(row, path=path)[0].double()
    frame = DEFAULT_CONFIG.sample_rate // 100
    frames = audio[:audio.shape[0] // frame * frame].reshape(-1, frame)
    level = 10.0 * torch.log10(frames.pow(2).mean(dim=1).clamp_min(1e-20))
    release = level[round(RELEASE_GATE_S * 100):]
    start = float(release[0])
    if start < 20.0 * math.log10(SILENCE):
        return None
    below = torch.nonzero(release < max(start - RELEASE_FIT_DB, 20.0 * math.log10(SILENCE)))
    fitted = release[:int(below[0]) + 1 if len(below) else release.shape[0]]
    if fitted.shape[0] < 3:
        return 0.001  # gone within 20 ms
    seconds = torch.arange(fitted.shape[0], dtype=torch.float64) / 100.0
    seconds = seconds - seconds.mean()
    slope = float((seconds * (fitted - fitted.mean())).sum() / seconds.pow(2).sum())  # dB/s, least squares
    return 100.0 if slope >= -SAMPLER_RELEASE_DB / 100.0 else min(100.0, SAMPLER_RELEASE_DB / -slope)


def stored_sample(audio: Tensor, rate: int, loop: bool = True) -> tuple[np.ndarray, SustainLoop | None]:
    """A held note ``audio`` ``Tensor[N]`` (16 kHz) as a sampler's sample at ``rate`` Hz: its sustain loop
    (:mod:`synth.sustain_loop`, with ``loop``; None where the note has none) crossfaded in, the trailing silence
    (below :data:`SILENCE`) cut, the end faded out over :data:`FADE_S` where it still sounds there."""
    import torchaudio.functional as AF

    sounding = torch.nonzero(audio.abs() >= SILENCE)
    end = int(sounding[-1]) + 1 if len(sounding) else 1
    out = audio.double()
    if rate != DEFAULT_CONFIG.sample_rate:
        out = AF.resample(out, DEFAULT_CONFIG.sample_rate, rate)
    out = out.numpy()
    found = find_loop(out, rate) if loop else None
    if found is not None:
        out = with_loop(out, found, rate)
    end = max(min(out.shape[0], math.ceil(end * rate / DEFAULT_CONFIG.sample_rate)),
              0 if found is None else found.end + 64)
    out = out[:end].astype(np.float32)
    if end == out.shape[0] and len(sounding) and int(sounding[-1]) == audio.shape[0] - 1:
        fade = min(end, round(FADE_S * rate))
        out[-fade:] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, math.pi, fade))
    return out, found


@torch.no_grad()
def sampled_instrument(normalized: Tensor, every: int = 3, layers: int = 1, low: float | None = None,
                       high: float | None = None, *, rate: int = 48000, loop: bool = True, read_pitch: bool = True,
                       path: str = "auto") -> Instrument:
    """Patch ``normalized`` ``Tensor[100]`` (in [0, 1]) as a sampled instrument (see the module docstring): a note
    every ``every`` semitones from ``low`` to ``high`` (sounding MIDI notes; default: every key the patch can play
    within 0..127), at ``layers`` velocities, stored at ``rate`` Hz (one of :data:`RATES`), each note's sustain looped
    where it has one and ``loop`` (:func:`stored_sample`); renders on ``path``
    (:func:`synth.render`) :data:`BATCH_ROWS` at a time. Keys or layers it cannot give are an :class:`InputError`
    that says what it can."""
    from synth import render

    if not 1 <= every <= 24 or not 1 <= layers <= 8 or rate not in RATES:
        raise InputError(f"--every {every}, --layers {layers}, --rate {rate}: expected 1-24 semitones, 1-8 layers "
                         f"and a rate of {', '.join(map(str, RATES))} Hz")
    normalized = normalized.detach().float().reshape(-1)
    offset, placed_by, messages = placement(normalized, read_pitch, path)
    pitch = PARAM_SPECS[PITCH]
    playable = (max(0, math.ceil(pitch.low + offset - 1e-6)), min(127, math.floor(pitch.high + offset + 1e-6)))
    if playable[0] > playable[1]:
        raise InputError(f"this patch sounds {offset:+.2f} semitones from its note_pitch: none of its notes is a MIDI "
                         "key (0-127)")
    asked = (playable[0] if low is None else low, playable[1] if high is None else high)
    if not all(float(k).is_integer() for k in asked) or not playable[0] <= asked[0] <= asked[1] <= playable[1]:
        raise InputError(f"keys {note_label(asked[0])}..{note_label(asked[1])}: this patch plays whole keys from "
                         f"{note_label(playable[0])} to {note_label(playable[1])} (it sounds {offset:+.2f} semitones "
                         f"from its note_pitch, which goes from {pitch.low:g} to {pitch.high:g})")
    keys = sampled_keys(int(asked[0]), int(asked[1]), every)
    velocities = velocity_layers(layers, to_physical(PARAM_SPECS[VELOCITY], float(normalized[VELOCITY])))
    plan = [(root, span, velocity, range_) for root, span in keys for velocity, range_ in velocities]
    if len(plan) > MAX_ZONES:
        raise InputError(f"{len(plan)} samples asked ({len(keys)} notes x {layers} layers); at most {MAX_ZONES}")
    rows = normalized.repeat(len(plan), 1)
    rows[:, PITCH] = torch.tensor([from_physical(pitch, root - offset) for root, *_ in plan])
    rows[:, GATE] = from_physical(PARAM_SPECS[GATE], PARAM_SPECS[GATE].high)
    rows[:, VELOCITY] = torch.tensor([from_physical(PARAM_SPECS[VELOCITY], velocity) for _, _, velocity, _ in plan])
    zones = []
    for first in range(0, len(plan), BATCH_ROWS):
        for (root, span, _, range_), audio in zip(plan[first:first + BATCH_ROWS],
                                                          render(rows[first:first + BATCH_ROWS], path=path)):
            label = note_label(root) + (f" v{range_[1]}" if layers > 1 else "")
            sample, found = stored_sample(audio, rate, loop)
            zones.append(Zone(label, sample, rate, root, span, range_,
                              None if found is None else (found.start, found.end)))
    if all(float(np.abs(zone.audio).max()) < SILENCE for zone in zones):  # refused before the release's render
        raise InputError("the patch is silent at every note (below -80 dBFS): nothing to sample (are its oscillator, "
                         "noise, ring and sub levels all 0, or output_gain at its lowest?)")
    measured = release_seconds(normalized, keys[len(keys) // 2][0] - offset, path)
    release = to_physical(PARAM_SPECS[RELEASE], float(normalized[RELEASE])) if measured is None else measured
    how = (f"falling {SAMPLER_RELEASE_DB / release:.3g} dB/s as the patch's release does" if measured is not None
           else "its amp_env_release: the note is silent at a key-up")
    messages.append(f"{len(keys)} notes from {note_label(keys[0][0])} to {note_label(keys[-1][0])} every {every} "
                    f"semitone(s){f' x {layers} velocity layers' if layers > 1 else ''}, each held "
                    f"{PARAM_SPECS[GATE].high:g} s (note_gate's longest) then released; "
                    f"{release:.3g} s release after an earlier key-up ({how})")
    looped = sum(zone.loop is not None for zone in zones)
    if loop:
        messages.append(f"{looped} of {len(zones)} samples loop their sustain (a key held past {LOOP_END_S:g} s "
                        "sustains as long as it is held)" + (
                            f"; {len(zones) - looped} play once (their sound still decays or changes by "
                            f"{LOOP_END_S:g} s)" if looped < len(zones) else ""))
    return Instrument(zones, release, layers > 1, offset, placed_by, messages)
