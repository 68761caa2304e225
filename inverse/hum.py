"""Mains hum (50 or 60 Hz and its harmonics), taken out of an audio target before it is matched.

A ground loop or an unshielded cable puts a steady tone at the mains frequency and its multiples under a recording.
No patch holds a tone after its note, so matched as it is, the hum decides the answer: a sox plucked A3 (peak -3
dBFS, 0.5 s after the file's start) over hum at 60, 180 and 300 Hz 30 dB below it was read as three notes (A#1, A3,
A#1), no clear pitch, and came back with ten patches that sound nothing like the pluck. The noise-floor gate
(:mod:`inverse.noise_floor`) leaves it: hum is tonal, not noise-like. Taken out, the best-of-10 MSS against the clean
note fell by 61 %, 51 % and 19 % with hum 20, 30 and 40 dB below 10 sox and General MIDI notes
(``benchmarks/results/mains_hum/``); none is found in 180 clean external sounds or 500 prior-2 patches.

:func:`find_hum` reads the hum from the quiet part of a recording: frames of :data:`FRAME` samples at least
:data:`QUIET_DB` below the loudest frame, :data:`MIN_QUIET_S` of them at least. In their mean spectrum, a harmonic
``k`` of a mains frequency is a line where the highest bin near ``k`` times it (:func:`_lines`) stands :data:`LINE_DB`
above the median of the bins around it; it is kept where its level in those frames is steady (interquartile range at
most :data:`STEADY_DB`: hum, not a partial of a note's decaying tail). Hum is found where harmonic 1 or 2 is a line,
or two harmonics are.

A note held through the whole recording (a sustained organ, pad or string note cut to its length) leaves no quiet
part; its hum is read under the note instead, more strictly, since a held note's own partials are steady lines too:
only where the note has one clear pitch (CREPE, :func:`synth.pitch.estimate_pitch`), in every frame that is not
digital silence, from harmonics that lie off the note's harmonic series (at least :data:`OFF_NOTE` of their
frequency, and :data:`OFF_NOTE_HZ`, from every multiple of its pitch) and at least :data:`UNDER_NOTE_DB` below the
loudest line of the spectrum (the note's); harmonic 1 or 2 must be one of them, and two at least. A harmonic of the
hum that falls on a partial of the note is left (the model cannot tell the two apart there). Taken out under 10 held
sox and General MIDI notes, hum 20 and 30 dB below their peak lowered the best-of-10 MSS against the clean note by
10.8 % and 4.3 %; none is found in 872 clean sounds, 362 of them read under a note (``benchmarks/results/held_hum/``).

Mains hum holds its frequency and phase for seconds, so it is taken out as a model, not by a filter: the lines' common
fundamental is read to a thousandth of a hertz and each line's amplitude and phase fitted (least squares) in the
quiet part, and :func:`without_hum` subtracts that tone from any window of the recording. A note's own partials at
those frequencies are left whole, and nothing rings before its onset (a notch filter pre-rang there, 50 dB below
the note: enough to hide the lead-in before it). Where the fit leaves more than :data:`RESIDUAL_DB` of the lines'
power in the quiet part (hum that wanders), or where the hum is below :data:`MIN_HUM_DBFS`, none is taken out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from synth.pitch import estimate_pitch
from synth.spectrogram import DEFAULT_CONFIG

MAINS_HZ = (50.0, 60.0)  # the mains frequencies of the world's grids
HARMONICS = 20  # harmonics looked for (up to 1-1.2 kHz)
DRIFT_HZ = 0.2  # a grid's frequency stays within this of its nominal (harmonic k: k times it) ...
HIGHER_HZ = 1.0  # ... and its harmonics above the 3rd within this of where the lower ones put them
FRAME = 8192  # samples per analysis frame (0.51 s at 16 kHz, Hann) ...
HOP = 2048  # ... this far apart ...
PAD = 4  # ... each zero-padded to this many times its length (0.49 Hz between bins)
QUIET_DB = 12.0  # frames at least this far below the loudest frame are where hum is read ...
MIN_QUIET_S = 0.5  # ... at least this much of them (their hops), else no hum is read
MIN_DBFS = -90.0  # frames at or below this (mean square re a full-scale sine's: digital silence) are not quiet frames
LINE_DB = 12.0  # a harmonic's peak at least this far above the median of the bins around it is a line ...
AROUND_HZ = 25.0  # ... those within this of it, outside the line's own width (4 bins either side)
STEADY_DB = 3.0  # ... and its level in the quiet frames varies by at most this (interquartile range)
FIT_BLOCKS = 64  # at most this many quiet hops (2.1 s at 16 kHz) fit the model, evenly spread over them
SEARCH_HZ = (0.1, 0.01, 0.0005)  # the fundamental read within +-0.1 Hz of the lines' in steps of 0.01, then 0.0005
SILENT_RUN = 64  # exact zeros this long (4 ms) are digital silence: no hum is taken out of them
MIN_HUM_DBFS = -80.0  # hum below this (re a full-scale sine; the perceptual distances' floor) is left as it is
RESIDUAL_DB = -10.0  # the model must leave at most this much of the lines' power in the quiet frames (dB)
# Under a held note (no quiet part): a line must lie this share of its frequency, and this many Hz (twice the Hann
# main lobe's half width at FRAME), from every multiple of the note's pitch, ...
OFF_NOTE, OFF_NOTE_HZ = 0.015, 8.0
UNDER_NOTE_DB = 15.0  # ... and this far below the spectrum's loudest line


@dataclass(frozen=True)
class Hum:
    """Mains hum found in a recording: the grid's frequency ``mains_hz`` (50 or 60), its fundamental as read
    (``fundamental_hz``), the harmonics that are lines, each one's cosine and sine amplitudes at the recording's
    first sample, and its level (dBFS, re a full-scale sine)."""

    mains_hz: float
    fundamental_hz: float
    harmonics: tuple[int, ...]
    cos: tuple[float, ...]
    sin: tuple[float, ...]
    level_dbfs: float

    def tone(self, start: int, samples: int) -> torch.Tensor:
        """The hum from sample ``start`` of the recording on (16 kHz), ``samples`` long: ``Tensor[samples]``
        (float64)."""
        t = (start + torch.arange(samples, dtype=torch.float64)) / DEFAULT_CONFIG.sample_rate
        out = torch.zeros(samples, dtype=torch.float64)
        for k, a, b in zip(self.harmonics, self.cos, self.sin):
            phase = 2 * math.pi * k * self.fundamental_hz * t
            out += a * torch.cos(phase) + b * torch.sin(phase)
        return out

    def describe(self) -> str:
        listed = ", ".join(f"{k * self.fundamental_hz:.0f}" for k in self.harmonics[:4])
        more = ", ..." if len(self.harmonics) > 4 else ""
        return f"{self.mains_hz:.0f} Hz mains hum ({listed}{more} Hz; {self.level_dbfs:.0f} dBFS)"


def find_hum(audio: torch.Tensor) -> Hum | None:
    """The mains hum in ``audio`` ``Tensor[N]`` (16 kHz; a window or the recording it is taken from; the model's
    time counts from its first sample), or None (the module docstring has the rule)."""
    x = audio.detach().double().cpu().numpy()
    if x.size < FRAME:
        return None
    window = np.hanning(FRAME)
    starts = np.arange(0, x.size - FRAME + 1, HOP)
    frames = np.stack([x[s: s + FRAME] for s in starts])
    power = np.abs(np.fft.rfft(frames * window, n=FRAME * PAD, axis=1)) ** 2  # (frames, bins)
    level = 10 * np.log10(2 * np.mean(frames**2, axis=1) + 1e-30)  # dB re a full-scale sine's mean square
    sounding = level > MIN_DBFS
    quiet = (level <= level.max() - QUIET_DB) & sounding
    enough = MIN_QUIET_S * DEFAULT_CONFIG.sample_rate
    held = quiet.sum() * HOP < enough  # no quiet part: a note held through the recording, its hum read under it
    read = sounding if held else quiet  # the frames the hum is read in, and where its model must hold
    if read.sum() * HOP < enough:
        return None
    mean = power[read].mean(axis=0)
    keep = _off_note(x, mean) if held else None
    if held and keep is None:
        return None
    bin_hz = DEFAULT_CONFIG.sample_rate / (FRAME * PAD)
    mains, found = max(((mains, _lines(mean, power[read], mains, bin_hz, keep)) for mains in MAINS_HZ),
                       key=lambda pair: sum(p for _, _, p, _ in pair[1]))
    low, several = any(k <= 2 for k, *_ in found), len(found) >= 2
    if not (low or several):
        return None  # one line alone at 3x the mains frequency: as likely a note's steady partial
    if held and not (low and several):
        return None  # under a note: a lone line near 50-120 Hz, or lines high above them, are as likely the note's
    # the frames' middle hops, at most FIT_BLOCKS of them: where the model is read
    middles = starts[read] + (FRAME - HOP) // 2
    middles = middles[np.unique(np.linspace(0, middles.size - 1, min(FIT_BLOCKS, middles.size)).round().astype(int))]
    at = (middles[:, None] + np.arange(HOP)).ravel()
    harmonics = np.array([k for k, *_ in found])
    strongest = harmonics[np.argsort([-p for _, _, p, _ in found])[:3]]
    guess = float(np.average([f / k for k, f, *_ in found], weights=[p for _, _, p, _ in found]))
    fundamental = _fundamental(x[at], at, strongest, guess)
    if abs(fundamental - mains) > DRIFT_HZ:
        return None
    amplitudes, *_ = np.linalg.lstsq(_basis(at, harmonics, fundamental), x[at], rcond=None)
    a, b = amplitudes[0::2], amplitudes[1::2]
    level = 10 * math.log10(float(np.sum(a**2 + b**2)) + 1e-30)  # its amplitudes squared: re a full-scale sine's
    hum = Hum(mains, fundamental, tuple(int(k) for k in harmonics), tuple(map(float, a)), tuple(map(float, b)), level)
    cleaned = x - hum.tone(0, x.size).numpy()  # the lines' power left in those frames: the model must hold there
    after = np.abs(np.fft.rfft(np.stack([cleaned[s: s + FRAME] * window for s in starts[read]]), n=FRAME * PAD,
                               axis=1)) ** 2
    peaks = [peak for _, _, _, peak in found]
    left = float(after[:, peaks].mean(axis=0).sum() / mean[peaks].sum())
    return hum if 10 * math.log10(left + 1e-30) <= RESIDUAL_DB and level >= MIN_HUM_DBFS else None


def _off_note(x: np.ndarray, mean: np.ndarray) -> Callable[[float, float], bool] | None:
    """Under a note held through ``x`` (whose frames' mean power spectrum is ``mean``): ``keep(frequency Hz, peak
    power)``, true for a line off the note's harmonic series and :data:`UNDER_NOTE_DB` below the loudest bin; None
    where the note has no clear pitch (no hum is read then)."""
    pitch = estimate_pitch(torch.from_numpy(x[: DEFAULT_CONFIG.num_samples]).float()[None])
    if not bool(pitch.clear[0]):
        return None
    f0, ceiling = float(pitch.f0_hz[0]), float(mean.max()) * 10 ** (-UNDER_NOTE_DB / 10)

    def keep(hz: float, peak: float) -> bool:
        off = abs(hz - max(1, round(hz / f0)) * f0)
        return peak <= ceiling and off >= max(OFF_NOTE * hz, OFF_NOTE_HZ)
    return keep


def _lines(mean: np.ndarray, frames: np.ndarray, mains: float, bin_hz: float,
           keep: Callable[[float, float], bool] | None = None) -> list[tuple[int, float, float, int]]:
    """The harmonics of ``mains`` (Hz) that are steady lines in the quiet frames' power ``frames`` (frames, bins),
    whose mean is ``mean``: ``[(k, frequency read in Hz, peak power, peak bin)]``. Harmonics 1-3 are looked for
    within ``k *`` :data:`DRIFT_HZ` of ``k * mains``, the higher ones within :data:`HIGHER_HZ` of ``k`` times the
    fundamental those found read. ``keep(frequency, peak power)``, where given, must also hold for a line."""
    width = 4  # bins either side of a peak that belong to its line (Hann main lobe, zero-padded 4x)
    lines: list[tuple[int, float, float, int]] = []
    for k in range(1, HARMONICS + 1):
        if k <= 3:
            low, high = k * (mains - DRIFT_HZ), k * (mains + DRIFT_HZ)
        elif lines:
            centre = k * float(np.average([f / j for j, f, *_ in lines], weights=[p for _, _, p, _ in lines]))
            low, high = centre - HIGHER_HZ, centre + HIGHER_HZ
        else:
            break
        low, high = round(low / bin_hz), round(high / bin_hz)
        if high + width >= mean.size:
            break
        peak = low + int(np.argmax(mean[low: high + 1]))
        if not mean[peak - 1] <= mean[peak] >= mean[peak + 1]:
            continue  # the skirt of a peak outside the range, not a line in it
        span = round(AROUND_HZ / bin_hz)
        around = np.r_[mean[max(peak - span, 0): max(peak - width, 0)], mean[peak + width + 1: peak + span + 1]]
        if around.size == 0 or not mean[peak] > np.median(around) * 10 ** (LINE_DB / 10):
            continue
        per_frame = 10 * np.log10(frames[:, peak] + 1e-30)
        q1, q3 = np.percentile(per_frame, [25, 75])
        if q3 - q1 > STEADY_DB:
            continue
        hz = float(_interpolated(mean, peak) * bin_hz)
        if keep is not None and not keep(hz, float(mean[peak])):
            continue
        lines.append((k, hz, float(mean[peak]), peak))
    return lines


def _interpolated(power: np.ndarray, peak: int) -> float:
    """The peak's position in bins, refined by a parabola through the log power of it and its neighbours."""
    a, b, c = np.log(power[peak - 1: peak + 2] + 1e-30)
    bend = a - 2 * b + c
    return peak + (0.5 * (a - c) / bend if bend < 0 else 0.0)


def _basis(at: np.ndarray, harmonics: np.ndarray, fundamental: float) -> np.ndarray:
    """Cosine and sine of each harmonic of ``fundamental`` (Hz) at samples ``at``: ``(len(at), 2 * len(harmonics))``,
    columns cos, sin of the first harmonic, then of the next, ..."""
    phase = 2 * np.pi * fundamental / DEFAULT_CONFIG.sample_rate * at[:, None] * harmonics[None, :]
    return np.stack([np.cos(phase), np.sin(phase)], axis=2).reshape(at.size, -1)


def _fundamental(x: np.ndarray, at: np.ndarray, harmonics: np.ndarray, guess: float) -> float:
    """The fundamental (Hz) within :data:`SEARCH_HZ` of ``guess`` whose ``harmonics`` hold the most of ``x`` (the
    samples at ``at``), read on ever finer grids."""
    best = guess
    for span, step in zip(SEARCH_HZ, SEARCH_HZ[1:]):
        grid = best + np.arange(-span, span + step / 2, step)
        held = [np.sum(np.abs(np.exp(-2j * np.pi * f / DEFAULT_CONFIG.sample_rate * np.outer(at, harmonics)).T @ x)
                       ** 2) for f in grid]
        best = float(grid[int(np.argmax(held))])
    return best


def without_hum(audio: torch.Tensor, hum: Hum, start: int = 0) -> torch.Tensor:
    """``audio`` ``Tensor[N]`` (16 kHz), which begins at sample ``start`` of the recording ``hum`` was read from,
    less the hum: float32, the same length. Runs of at least :data:`SILENT_RUN` samples that are exactly zero
    (digital silence, a short file's zero padding) hold no hum and stay as they are."""
    x = audio.double()
    return (x - hum.tone(start, x.numel()) * ~_digital_silence(x)).float()


def _digital_silence(x: torch.Tensor) -> torch.Tensor:
    """``Tensor[N]`` bool: the samples of ``x`` in runs of at least :data:`SILENT_RUN` exact zeros."""
    zero = torch.cat([torch.zeros(1, dtype=torch.bool), x == 0, torch.zeros(1, dtype=torch.bool)]).to(torch.int8)
    edges = torch.diff(zero)
    firsts, ends = (edges == 1).nonzero().flatten(), (edges == -1).nonzero().flatten()
    silent = torch.zeros(x.numel(), dtype=torch.bool)
    for first, end in zip(firsts.tolist(), ends.tolist()):
        if end - first >= SILENT_RUN:
            silent[first:end] = True
    return silent
