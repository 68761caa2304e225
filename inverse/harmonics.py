"""Harmonic candidates: a pitched target's balance of partials played by the three oscillators at harmonics of its note.

An instrument's note is rarely one of the synth's basic waveforms: a flute's third partial is stronger than its
second, a clarinet's even partials are weak, an organ stop adds an octave and a twelfth. The synth makes such a
balance with its three oscillators at whole-number multiples of the note (an octave is 12 semitones, the twelfth 19
semitones and 2 cents, the fifth partial 28 semitones less 14 cents, up to the eighth at 36 semitones: every one
within the offsets' reach), each a basic waveform at its own level. Neither the flow's draws nor the retrieved rows
hold many such stacks, and refinement cannot move a discrete octave or semitone offset, so the pool gets none.

This module reads the target's partial amplitudes (the mean magnitude spectrum of its sustained frames, the largest
value near each multiple of its pitch), fits them with every choice of three (waveform, multiple) oscillators, the
first at the note itself, and the two others' levels on a grid (least squares in dB over the partials, weighted
towards the low ones as a mel scale is, with a free overall level; partial powers summed), and writes the
:data:`FITS` best different choices as plain patches (:mod:`inverse.plain`'s, every colouring stage off), level-
matched to the target. The ranking decides whether they are any good.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from inverse.chord import CHORD_FFT, offsets, sustained_frames
from inverse.plain import SHAPES, note_and_octave, plain_rows
from synth.params import PARAM_INDEX, PARAM_SPECS, from_physical
from synth.spectrogram import DEFAULT_CONFIG

#: Partials read and fitted at most, and none above :data:`TOP_HZ` (the synth's 16 kHz rate leaves 8 kHz).
PARTIALS = 16
TOP_HZ = 7000.0
#: A target with fewer partials below :data:`TOP_HZ` than this gets no harmonic candidates (nothing to balance).
MIN_PARTIALS = 3
#: Multiples of the note an oscillator may play (an octave offset and a semitone offset reach 36 semitones: 8x).
MULTIPLES = tuple(range(1, 9))
#: The second and third oscillators' levels tried, dB re the first's (0: the oscillator silent, one or two play).
GAINS_DB = tuple(float(g) for g in range(-36, 7, 3))
#: Partial levels are compared above this (dB re the loudest partial).
FLOOR_DB = -40.0
#: Half the window in which a partial's peak is read, relative to its frequency (a piano's partials run sharp).
NEAR = 0.03
#: Bins either side of a partial's largest one summed into its level (a Hann window's main lobe).
LOBE_BINS = 2
#: Fits written per target by default (each with every loudness source).
FITS = 4

_NOTE = PARAM_INDEX["note_pitch"]
_OSC = {name: [PARAM_INDEX[f"osc{k}_{name}"] for k in (1, 2, 3)] for name in ("shape", "octave", "semitone", "fine",
                                                                          "level")}


@dataclass(frozen=True)
class HarmonicFit:
    """Three oscillators for a partial balance: ``shapes`` (indices into :data:`~inverse.plain.SHAPES`), ``multiples``
    of the note and linear ``levels`` (the first 1; 0: silent); ``error``: the weighted RMS dB between the fitted and
    the target's partials."""

    shapes: tuple[int, int, int]
    multiples: tuple[int, int, int]
    levels: tuple[float, float, float]
    error: float


def shape_partials(count: int) -> torch.Tensor:
    """Amplitudes of partials ``1 .. count`` of the basic waveforms (:data:`~inverse.plain.SHAPES`: sine, triangle,
    saw, pulse at 50 % duty) relative to their fundamental: ``Tensor[4, count]``."""
    h = torch.arange(1, count + 1, dtype=torch.float64)
    odd = (h % 2 == 1).double()
    return torch.stack([(h == 1).double(), odd / h.square(), 1.0 / h, odd / h])


def partial_levels(audio: torch.Tensor, f0_hz: float) -> torch.Tensor:
    """Amplitudes of the partials of ``audio`` ``Tensor[N]`` (16 kHz) at multiples of ``f0_hz``, in the mean magnitude
    spectrum of its sustained frames (:func:`inverse.chord.sustained_frames`): the root of the power over the Hann
    window's main lobe (:data:`LOBE_BINS` either side) around the largest bin within :data:`NEAR` (and half the
    partials' spacing) of each, which does not depend on where the partial falls between bins. ``Tensor[H]``
    (float64) for the ``H`` partials up to :data:`PARTIALS` below :data:`TOP_HZ`; all zero for silence."""
    count = min(PARTIALS, int(TOP_HZ / f0_hz))
    frames = sustained_frames(audio)
    if count < 1 or frames.shape[0] == 0:
        return torch.zeros(max(count, 0), dtype=torch.float64)
    spectrum = frames.mean(dim=0).double()
    bin_hz = DEFAULT_CONFIG.sample_rate / CHORD_FFT
    levels = []
    for h in range(1, count + 1):
        reach = h * f0_hz * min(NEAR, 0.45 / h)
        lo = max(0, math.floor((h * f0_hz - reach) / bin_hz))
        hi = min(spectrum.shape[0] - 1, math.ceil((h * f0_hz + reach) / bin_hz))
        peak = lo + int(spectrum[lo:hi + 1].argmax())
        lobe = spectrum[max(0, peak - LOBE_BINS):peak + LOBE_BINS + 1]
        levels.append(float(lobe.square().sum().sqrt()))
    return torch.tensor(levels, dtype=torch.float64)


def _columns(count: int, multiples: tuple[int, ...]) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """Each (waveform, multiple)'s partial powers over the note's partials ``1 .. count``: ``Tensor[C, count]`` and
    the ``(shape index, multiple)`` of each row; a waveform whose partials there are another's at that multiple
    (a triangle or a pulse at 7x over 16 partials: a sine's) is left out."""
    own = shape_partials(count)
    rows, names = [], []
    h = torch.arange(1, count + 1)
    for m in multiples:
        if m > count:
            continue
        for s in range(len(SHAPES)):
            column = torch.zeros(count, dtype=torch.float64)
            on = h % m == 0
            column[on] = own[s, : int(on.sum())]
            column = column.square()
            if not any(torch.equal(column / column[m - 1], row / row[m - 1])
                       for row, (_, other) in zip(rows, names) if other == m):
                rows.append(column)
                names.append((s, m))
    return torch.stack(rows), names


def fit_partials(levels: torch.Tensor, count: int = FITS, multiples: tuple[int, ...] = MULTIPLES) -> list[HarmonicFit]:
    """The ``count`` best three-oscillator fits of partial amplitudes ``levels`` ``Tensor[H]``, each a different
    choice of (waveform, multiple) per oscillator, best first: the first oscillator at the note (multiple 1), the
    others any of ``multiples`` (up to ``H``) at :data:`GAINS_DB` or silent. Fits in which the second and third are
    silent or play the first's waveform at the note (a plain patch: :mod:`inverse.plain`) are left out. The error
    is the weighted (1 / partial number, as a mel scale resolves low partials) RMS difference in dB, floored at
    :data:`FLOOR_DB`, after the best overall level. Empty where fewer than :data:`MIN_PARTIALS` partials are
    given or the target is silent there."""
    levels = levels.double()
    h_count = levels.shape[0]
    if h_count < MIN_PARTIALS or float(levels.max()) <= 0.0:
        return []
    target_db = (20.0 * torch.log10(levels.clamp_min(1e-12) / levels.max())).clamp_min(FLOOR_DB)
    weight = 1.0 / torch.arange(1, h_count + 1, dtype=torch.float64)
    weight = weight / weight.sum()
    power, names = _columns(h_count, multiples)
    firsts = [i for i, (_, m) in enumerate(names) if m == 1]
    pairs = torch.triu_indices(len(names), len(names))  # the second and third oscillators, in either order
    gains = torch.tensor([0.0] + [10.0 ** (g / 10.0) for g in GAINS_DB], dtype=torch.float64)  # power; 0: silent
    g = gains.shape[0]
    # every (second, third) pair at every pair of gains: Tensor[P, G, G, H] of partial powers, the first's added below
    second = gains[None, :, None, None] * power[pairs[0]][:, None, None, :]
    third = gains[None, None, :, None] * power[pairs[1]][:, None, None, :]
    both = (second + third).float()
    errors, ats = [], []
    for first in firsts:
        db = 10.0 * torch.log10((both + power[first].float()).clamp_min(1e-30))
        db = (db - db.amax(dim=-1, keepdim=True)).clamp_min(FLOOR_DB)
        diff = db - target_db.float()
        centred = diff - (weight.float() * diff).sum(dim=-1, keepdim=True)
        error, at = (weight.float() * centred.square()).sum(dim=-1).sqrt().flatten(1).min(dim=-1)  # (P,)
        errors.append(error)
        ats.append(at)
    best, at = torch.stack(errors), torch.stack(ats)  # (F, P)
    chosen: list[HarmonicFit] = []
    seen: set = set()
    for flat in torch.argsort(best.flatten(), stable=True).tolist():
        f, k = divmod(flat, pairs.shape[1])
        gi, gj = divmod(int(at[f, k]), g)
        fit = _fit([names[firsts[f]], names[int(pairs[0, k])], names[int(pairs[1, k])]], (gi, gj), float(best[f, k]))
        if fit is None:
            continue
        key = frozenset((s, m) for s, m, level in zip(fit.shapes, fit.multiples, fit.levels) if level > 0)
        if key in seen:
            continue
        seen.add(key)
        chosen.append(fit)
        if len(chosen) == count:
            break
    return chosen


def _fit(parts: list[tuple[int, int]], gains: tuple[int, int], error: float) -> HarmonicFit | None:
    """The :class:`HarmonicFit` of the ``(shape, multiple)`` ``parts`` of the three oscillators, the second and
    third at :data:`GAINS_DB` indices ``gains`` (0: silent, else index + 1), or None where it is a plain patch
    (nothing sounding but the first's waveform at the note)."""
    level = [1.0] + [0.0 if k == 0 else 10.0 ** (GAINS_DB[k - 1] / 20.0) for k in gains]
    if all(lv == 0.0 or part == parts[0] for part, lv in zip(parts[1:], level[1:])):
        return None
    return HarmonicFit(tuple(s for s, _ in parts), tuple(m for _, m in parts), tuple(level), error)


def harmonic_params(sources: torch.Tensor, f0_hz: float, fits: list[HarmonicFit]) -> torch.Tensor:
    """Plain patches (:func:`inverse.plain.plain_rows`) at ``f0_hz`` playing each fit of ``fits``: oscillator ``k``
    at ``fits[i].multiples[k]`` x the note (octave, semitone and fine offsets), in its waveform, at its level (the
    loudest at 0.5, as :mod:`inverse.chord`'s notes; the level match scales them alike). ``Tensor[S * len(fits),
    100]`` normalised (rows ``s * len(fits) + i``), each source's loudness settings kept; a fit whose multiples the
    offsets cannot reach from this note (a high note moved down into the synth's range) is left out. Raises
    ``ValueError`` for a pitch beyond what the oscillators play."""
    note, base_octave = note_and_octave(f0_hz)
    reachable = [fit for fit in fits
                 if all(offsets(12.0 * math.log2(m), base_octave) is not None for m in fit.multiples)]
    out = plain_rows(sources, len(reachable))
    out[:, _NOTE] = from_physical(PARAM_SPECS[_NOTE], note)
    for i, fit in enumerate(reachable):
        rows = slice(i, None, len(reachable))
        top = max(fit.levels)
        for k in range(3):
            found = offsets(12.0 * math.log2(fit.multiples[k]), base_octave)
            for name, value in zip(("octave", "semitone", "fine"), found):
                out[rows, _OSC[name][k]] = from_physical(PARAM_SPECS[_OSC[name][k]], value)
            out[rows, _OSC["shape"][k]] = SHAPES[fit.shapes[k]]
            out[rows, _OSC["level"][k]] = 0.5 * fit.levels[k] / top
    return out
