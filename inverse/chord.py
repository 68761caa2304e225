"""Chord candidates: the synth's three oscillators at the notes of a target that sounds several at once.

A chord from a keyboard, strings or a tone generator is something people bring, and the synth plays it exactly: its
three oscillators are three notes (``note_pitch`` the lowest, the others by their octave and semitone offsets). But
neither the flow's draws nor the retrieved training rows come near a major or minor triad (the prior's musical part
stacks unisons, octaves and fifths), and refinement cannot move a discrete semitone offset: on a piano's C major
triad the ten returned all played C alone. This module reads the notes a target sounds at once from its sustained
spectrum by iterative harmonic-sum estimation (Klapuri 2006, "Multiple fundamental frequency estimation by summing
harmonic amplitudes": the strongest fundamental by the weighted sum of its partials, its partials taken out of the
spectrum, the next one found in what is left) and writes plain patches (:mod:`inverse.plain`'s, every colouring
stage off) with the oscillators at each set of two or three of those notes, in each basic waveform, level-matched to
the target. The ranking decides whether they are any good; on a single note they rarely are, and a target with no
second note as salient as :data:`MIN_SALIENCE` of the first gets none.
"""

from __future__ import annotations

import itertools
import math

import torch

from inverse.plain import LEVEL_ROUNDS, SHAPES, level_ratio, note_and_octave, plain_rows
from synth.params import PARAM_INDEX, PARAM_SPECS, from_physical
from synth.pitch import midi_to_hz
from synth.spectrogram import DEFAULT_CONFIG

CHORD_FFT = 8192  # samples per analysis frame: 1.95 Hz bins at 16 kHz (a semitone at C2 is 3.9 Hz)
CHORD_HOP = 2048
SUSTAIN_DB = 20.0  # frames within this of the loudest are averaged into the sustained spectrum
LOWEST, HIGHEST = 28.0, 96.0  # MIDI notes searched (41 Hz .. 2.1 kHz)
GRID = 0.1  # semitones between the candidate fundamentals searched
HARMONICS = 170  # partials summed per candidate fundamental at most (every one below TOP_HZ at the lowest note)
TOP_HZ = 7000.0  # partials above this are not summed (the synth's 16 kHz rate leaves 8 kHz)
NEAR = 0.006  # a partial is the spectrum's largest value within this relative distance of m * f0 (~10 cents)
ALPHA_HZ, BETA_HZ = 52.0, 320.0  # Klapuri's partial weights (f0 + alpha) / (m f0 + beta)
MAX_NOTES = 4  # notes read at most
#: A further note is read where its salience is at least this x the first note's (else the target is one note).
MIN_SALIENCE = 0.3
#: A candidate fundamental must itself sound: the spectrum there at most this many dB below its strongest bin.
FUNDAMENTAL_DB = 40.0
#: Bins either side of a partial's window also taken out with it (a Hann window's main lobe is 2 bins each side).
CANCEL_BINS = 3
#: A note is kept where each of this many consecutive parts of the sustained frames holds a note within
#: :data:`STEADY_CENTS` of it.
STEADY_PARTS = 4
STEADY_CENTS = 35.0
#: Notes closer than this (semitones) to one already read, or a whole number of octaves from it within this, are
#: not read again (an octave is the first note's own even partials far more often than a second note).
MIN_APART = 0.6


def sustained_frames(audio: torch.Tensor) -> torch.Tensor:
    """Magnitude spectra ``Tensor[F, CHORD_FFT // 2 + 1]`` of the frames of ``audio`` ``Tensor[N]`` (16 kHz) within
    :data:`SUSTAIN_DB` of the loudest, in time order (Hann window, linear magnitude)."""
    audio = audio.detach().float()
    if audio.shape[0] < CHORD_FFT:
        audio = torch.nn.functional.pad(audio, (0, CHORD_FFT - audio.shape[0]))
    frames = audio.unfold(0, CHORD_FFT, CHORD_HOP)  # (F, CHORD_FFT)
    magnitude = torch.fft.rfft(frames * torch.hann_window(CHORD_FFT, periodic=True), dim=1).abs()
    power = magnitude.square().sum(dim=1)
    return magnitude[power >= power.max() * 10.0 ** (-SUSTAIN_DB / 10.0)]


def _whitened(spectrum: torch.Tensor) -> torch.Tensor:
    """``spectrum`` with its broad envelope flattened (divided by its mean over ~a third of an octave around each
    bin, to the power 0.67): a bright and a dark note weigh alike, partials stand out of their neighbourhood."""
    bin_hz = DEFAULT_CONFIG.sample_rate / CHORD_FFT
    n = spectrum.shape[0]
    cumulative = torch.cat([torch.zeros(1), spectrum.double().cumsum(0)])
    centre = torch.arange(n, dtype=torch.float64)
    half = (centre * bin_hz * 0.12).clamp_min(40.0) / bin_hz  # +-12 % (a third of an octave), at least 40 Hz
    lo = (centre - half).clamp_min(0).long()
    hi = (centre + half).clamp(max=n - 1).long() + 1
    envelope = ((cumulative[hi] - cumulative[lo]) / (hi - lo)).float()
    return spectrum / envelope.clamp_min(float(envelope.max()) * 1e-6).pow(0.67)


def _partial_bins(f0_hz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For candidate fundamentals ``Tensor[C]``: per (candidate, partial ``m``) the first and last bin of the
    partial's window (``Tensor[C, HARMONICS]`` each) and its weight (0 above :data:`TOP_HZ`)."""
    bin_hz = DEFAULT_CONFIG.sample_rate / CHORD_FFT
    m = torch.arange(1, HARMONICS + 1, dtype=torch.float32)
    partial = f0_hz[:, None] * m[None]
    lo = (partial * (1.0 - NEAR) / bin_hz).floor().long() - 1
    hi = (partial * (1.0 + NEAR) / bin_hz).ceil().long() + 1
    weight = (f0_hz[:, None] + ALPHA_HZ) / (partial + BETA_HZ) * (partial <= TOP_HZ)
    return lo, hi, weight


def _range_max(spectrum: torch.Tensor) -> torch.Tensor:
    """Sparse table of ``spectrum`` ``Tensor[n]``: row ``j`` holds the maximum of every ``2**j`` consecutive bins
    starting at each bin (0 past the end): ``Tensor[levels, n]``, for any window's maximum in two lookups."""
    levels = [spectrum]
    while 2 ** len(levels) <= spectrum.shape[0]:
        previous, step = levels[-1], 2 ** (len(levels) - 1)
        levels.append(torch.cat([torch.maximum(previous[:-step], previous[step:]), torch.zeros(step)]))
    return torch.stack(levels)


def _peaks(table: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """The largest value in each window ``lo .. hi`` (bins, inclusive, clamped to the spectrum) of the spectrum
    whose :func:`_range_max` table is ``table``."""
    n = table.shape[1]
    lo, hi = lo.clamp(0, n - 1), hi.clamp(0, n - 1)
    level = torch.log2((hi - lo + 1).float()).floor().long()
    return torch.maximum(table[level, lo], table[level, hi - 2 ** level + 1])


def salience(spectrum: torch.Tensor, f0_hz: torch.Tensor) -> torch.Tensor:
    """Weighted sum of the partials of each candidate fundamental ``Tensor[C]`` (Hz) in a whitened ``spectrum``:
    ``Tensor[C]``."""
    lo, hi, weight = _partial_bins(f0_hz)
    return (weight * _peaks(_range_max(spectrum), lo, hi)).sum(dim=1)


def estimate_notes(audio: torch.Tensor) -> list[tuple[float, float]]:
    """The notes ``audio`` ``Tensor[N]`` (16 kHz) holds at once, strongest first: ``(MIDI note, fractional;
    salience relative to the first)``, at most :data:`MAX_NOTES`. Read in the mean of its sustained frames
    (:func:`notes_in`) and kept where each of :data:`STEADY_PARTS` consecutive parts of those frames holds a note
    within :data:`STEADY_CENTS` of it: a voice's gliding pitch smears into a cluster of notes its parts do not share.
    Empty for silence."""
    frames = sustained_frames(audio)
    if frames.shape[0] == 0:
        return []
    parts = [notes_in(part.mean(dim=0)) for part in torch.tensor_split(frames, min(STEADY_PARTS, frames.shape[0]))]

    def steady(note: float) -> bool:
        return all(any(abs(note - other) * 100.0 <= STEADY_CENTS for other, _ in found) for found in parts)
    return [(note, salience_) for note, salience_ in notes_in(frames.mean(dim=0)) if steady(note)]


def notes_in(spectrum: torch.Tensor) -> list[tuple[float, float]]:
    """The notes of a magnitude ``spectrum`` ``Tensor[CHORD_FFT // 2 + 1]``, strongest first, as
    :func:`estimate_notes` returns them. Each is the candidate fundamental of largest :func:`salience` in the
    whitened spectrum with the partials of those before taken out (set to its median; a partial two notes share goes
    with the first), among those with a partial of their own at the fundamental (at most :data:`FUNDAMENTAL_DB`
    below the spectrum's strongest bin: a chord's common subharmonic, C2 under C3-E3-G3, collects many partials but
    sounds none) and not within :data:`MIN_APART` of a whole number of octaves from one read before."""
    if not bool(torch.isfinite(spectrum).all()) or float(spectrum.max()) <= 0.0:
        return []
    bin_hz = DEFAULT_CONFIG.sample_rate / CHORD_FFT
    notes_grid = torch.arange(LOWEST, HIGHEST + GRID / 2, GRID)
    f0s = 440.0 * 2.0 ** ((notes_grid - 69.0) / 12.0)
    lo, hi, _ = _partial_bins(f0s)
    sounding = _peaks(_range_max(spectrum), lo[:, 0], hi[:, 0]) >= spectrum.max() * 10.0 ** (-FUNDAMENTAL_DB / 20.0)
    spectrum = _whitened(spectrum)
    floor = spectrum.median()
    found: list[tuple[float, float]] = []
    first = 0.0
    for _ in range(MAX_NOTES):
        s = salience(spectrum, f0s) * sounding
        for note, _ in found:
            octaves = (notes_grid - note).abs() % 12.0
            s[torch.minimum(octaves, 12.0 - octaves) < MIN_APART] = 0.0
        k = int(s.argmax())
        if float(s[k]) <= 0.0 or float(s[k]) < MIN_SALIENCE * first:
            break
        first = first or float(s[k])
        note = _refined(spectrum, float(f0s[k]))
        found.append((note, float(s[k]) / first))
        f0 = midi_to_hz(note)
        for m in range(1, int(TOP_HZ / f0) + 1):  # the note's partials out, each over its window's main lobe
            centre, reach = m * f0 / bin_hz, m * f0 * NEAR / bin_hz + CANCEL_BINS
            a, b = max(0, math.floor(centre - reach)), min(spectrum.shape[0] - 1, math.ceil(centre + reach))
            spectrum[a:b + 1] = torch.minimum(spectrum[a:b + 1], floor)
    return found


def _refined(spectrum: torch.Tensor, f0_hz: float) -> float:
    """The MIDI note of the fundamental near ``f0_hz``: the weighted mean over its first six partials of each
    one's peak frequency (parabolic interpolation of the log spectrum) over its number; the grid's reading where
    they disagree with it by more than a semitone."""
    bin_hz = DEFAULT_CONFIG.sample_rate / CHORD_FFT
    lo, hi, weight = _partial_bins(torch.tensor([f0_hz]))
    estimates, weights = [], []
    for m in range(6):
        a, b = max(int(lo[0, m]), 1), min(int(hi[0, m]), spectrum.shape[0] - 2)
        if weight[0, m] <= 0 or a > b:
            continue
        k = a + int(spectrum[a:b + 1].argmax())
        left, centre, right = (float(v) for v in spectrum[k - 1:k + 2].clamp_min(1e-20).log())
        curvature = left - 2 * centre + right
        offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        estimates.append((k + offset) * bin_hz / (m + 1))
        weights.append(float(weight[0, m] * spectrum[k]))
    f0 = sum(e * w for e, w in zip(estimates, weights)) / sum(weights) if sum(weights) > 0 else f0_hz
    if abs(12.0 * math.log2(f0 / f0_hz)) > 1.0:
        f0 = f0_hz
    return 69.0 + 12.0 * math.log2(f0 / 440.0)


def chord_sets(notes: list[tuple[float, float]], count: int) -> list[tuple[float, ...]]:
    """At most ``count`` sets of two or three of ``notes`` (:func:`estimate_notes`), lowest note first: every
    set of the notes read, the most salient sets first (largest summed salience; three notes before two at equal
    sums). Empty for fewer than two notes."""
    if len(notes) < 2 or count < 1:
        return []
    sets = [c for size in (3, 2) for c in itertools.combinations(notes, size)]
    sets.sort(key=lambda c: -sum(s for _, s in c) - 0.01 * len(c))
    return [tuple(sorted(n for n, _ in c)) for c in sets[:count]]


_NOTE, _GAIN = PARAM_INDEX["note_pitch"], PARAM_INDEX["output_gain"]
#: Each oscillator's settings (normalised columns, slots 1-3), by name.
_OSC = {name: [PARAM_INDEX[f"osc{k}_{name}"] for k in (1, 2, 3)] for name in ("shape", "octave", "semitone", "fine",
                                                                          "level")}


def offsets(interval: float, base_octave: float) -> tuple[float, float, float] | None:
    """An oscillator's ``(octave, semitone, fine cents)`` offsets that sound ``interval`` semitones above the note
    on top of ``base_octave`` (the octave every oscillator carries where the note was moved into the synth's
    range), or None where no offset within the synth's ranges (octave -2..2, semitone -12..12) reaches it."""
    whole = round(interval)
    natural = base_octave + whole // 12  # the semitone then within 0..11
    for octave in sorted(range(-2, 3), key=lambda o: abs(o - natural)):
        semitone = whole - 12 * (octave - base_octave)
        if -12 <= semitone <= 12:
            return float(octave), float(semitone), (interval - whole) * 100.0
    return None


def chord_params(sources: torch.Tensor, chord: tuple[float, ...]) -> torch.Tensor:
    """Plain patches (:func:`inverse.plain.plain_rows`) playing ``chord`` (two or three MIDI notes, fractional,
    lowest first): the lowest as the note, one oscillator per note at equal levels (a third oscillator silent for two
    notes), in each basic waveform of :data:`~inverse.plain.SHAPES`: ``Tensor[S * len(SHAPES), 100]`` normalised
    (rows ``s * len(SHAPES) + k``), each source's loudness settings kept. Raises ``ValueError`` where a note is
    beyond the oscillators' reach."""
    if not 2 <= len(chord) <= 3:
        raise ValueError(f"a chord for three oscillators has 2 or 3 notes, got {len(chord)}")
    note, base_octave = note_and_octave(midi_to_hz(chord[0]))
    out = plain_rows(sources, len(SHAPES))
    out[:, _NOTE] = from_physical(PARAM_SPECS[_NOTE], note)
    for k in range(3):
        found = offsets(chord[k] - chord[0], base_octave) if k < len(chord) else (base_octave, 0.0, 0.0)
        if found is None:
            raise ValueError(f"MIDI note {chord[k]:.2f} is {chord[k] - chord[0]:.1f} semitones above the lowest: "
                             "beyond the oscillators' offsets")
        for name, value in zip(("octave", "semitone", "fine"), found):
            out[:, _OSC[name][k]] = from_physical(PARAM_SPECS[_OSC[name][k]], value)
        out[:, _OSC["level"][k]] = 0.5 if k < len(chord) else 0.0
    out[:, _OSC["shape"]] = torch.tensor(SHAPES).repeat(sources.shape[0])[:, None]
    return out


def chord_level_matched(params: torch.Tensor, target_audio: torch.Tensor, render_path: str = "auto") -> torch.Tensor:
    """Chord patches ``params`` ``Tensor[P, 100]`` (:func:`chord_params`) at the RMS level of ``target_audio``
    ``Tensor[N]`` over :data:`~inverse.plain.LEVEL_ROUNDS` renders, as :func:`~inverse.plain.level_matched` does for
    a unison: the output gain moves within its -24..0 dB, and what it cannot reach the sounding oscillators' levels
    do, all by the same factor (their notes differ, so their levels do not add in phase as a unison's do)."""
    spec = PARAM_SPECS[_GAIN]
    out = params.clone()
    levels = out[:, _OSC["level"]]
    for _ in range(LEVEL_ROUNDS):
        gain_db = spec.low + out[:, _GAIN] * (spec.high - spec.low) + 20.0 * torch.log10(
            level_ratio(out, target_audio, render_path))
        scale = 10.0 ** ((gain_db - gain_db.clamp(spec.low, spec.high)) / 20.0)  # beyond the gain's range
        top = levels.max(dim=1).values.clamp_min(1e-6)
        levels = levels * torch.minimum(scale, 1.0 / top)[:, None]
        out[:, _OSC["level"]] = levels
        out[:, _GAIN] = (gain_db.clamp(spec.low, spec.high) - spec.low) / (spec.high - spec.low)
    return out
