"""Harmonic candidates (inverse.harmonics): a pitched target's partial balance by the oscillators at multiples of
its note."""

import math

import pytest
import torch

from inverse.harmonics import (
    GAINS_DB,
    MIN_PARTIALS,
    HarmonicFit,
    fit_partials,
    harmonic_params,
    partial_levels,
    shape_partials,
)
from inverse.plain import SHAPES, with_loudness
from inverse.sampling import SamplingConfig, add_harmonics
from inverse.target import Target, score
from synth.params import PARAM_INDEX, PARAM_SPECS, to_physical
from synth.pitch import midi_to_hz
from synth.voice import render

SINE, TRIANGLE, SAW, PULSE = range(len(SHAPES))
ENVELOPE = {"amp_env_attack": 0.01, "amp_env_decay": 0.5, "amp_env_sustain": 0.7, "amp_env_release": 0.2,
            "note_gate": 2.5, "amp_env_curve": 0.5}
SOURCE = torch.full((1, 100), 0.5)


def physical(row: torch.Tensor, name: str) -> float:
    return to_physical(PARAM_SPECS[PARAM_INDEX[name]], float(row[PARAM_INDEX[name]]))


def modelled(fit: HarmonicFit, count: int) -> torch.Tensor:
    """The partial amplitudes ``Tensor[count]`` the fit's oscillators make, their powers summed."""
    own = shape_partials(count)
    power = torch.zeros(count, dtype=torch.float64)
    for s, m, level in zip(fit.shapes, fit.multiples, fit.levels):
        for j in range(1, count // m + 1):
            power[j * m - 1] += (level * own[s, j - 1]) ** 2
    return power.sqrt()


def test_the_basic_waveforms_partials():
    p = shape_partials(5)
    assert p[SINE].tolist() == [1, 0, 0, 0, 0]
    assert p[TRIANGLE].tolist() == pytest.approx([1, 0, 1 / 9, 0, 1 / 25])
    assert p[SAW].tolist() == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5])
    assert p[PULSE].tolist() == pytest.approx([1, 0, 1 / 3, 0, 1 / 5])


def test_partial_levels_read_a_sum_of_sines():
    t = torch.arange(65408, dtype=torch.float64) / 16000
    amplitudes = [0.5, 0.05, 0.25, 0.0, 0.1]
    audio = sum(a * torch.sin(2 * math.pi * 220.0 * (h + 1) * t) for h, a in enumerate(amplitudes)).float()
    levels = partial_levels(audio, 220.0)
    assert levels.shape == (16,)  # 16 partials below 7 kHz at most
    read = 20 * torch.log10(levels[:5] / levels[0])
    expected = [0.0, -20.0, -6.02, None, -13.98]
    for got, want in zip(read.tolist(), expected):
        assert got < -40 if want is None else got == pytest.approx(want, abs=0.5)
    assert partial_levels(audio, 3000.0).shape == (2,)  # 3 and 6 kHz: the partials below 7 kHz
    assert float(partial_levels(torch.zeros(65408), 220.0).max()) == 0.0


def test_the_fit_recovers_a_stack_it_can_play_and_leaves_plain_patches_out():
    truth = HarmonicFit((TRIANGLE, SINE, SINE), (1, 3, 2), (1.0, 10 ** (-9 / 20), 10 ** (-18 / 20)), 0.0)
    assert -9.0 in GAINS_DB and -18.0 in GAINS_DB
    fits = fit_partials(modelled(truth, 16), count=4)
    assert len(fits) == 4 and fits[0].error < 1e-3 and [f.error for f in fits] == sorted(f.error for f in fits)
    best = sorted(zip(fits[0].multiples, fits[0].shapes, (round(20 * math.log10(v)) if v else None
                                                            for v in fits[0].levels)))
    assert best == [(1, TRIANGLE, 0), (2, SINE, -18), (3, SINE, -9)]
    # a sawtooth is a plain patch's sound: none of the fits is the lone sawtooth, each adds an oscillator of its own
    for fit in fit_partials(modelled(HarmonicFit((SAW, SAW, SAW), (1, 1, 1), (1.0, 0.0, 0.0), 0.0), 16)):
        sounding = {(s, m) for s, m, level in zip(fit.shapes, fit.multiples, fit.levels) if level > 0}
        assert sounding != {(SAW, 1)} and fit.multiples[0] == 1
    assert fit_partials(torch.ones(MIN_PARTIALS - 1, dtype=torch.float64)) == []
    assert fit_partials(torch.zeros(16, dtype=torch.float64)) == []


def test_the_patches_play_the_fit_at_the_note():
    note = 55.0
    fit = HarmonicFit((TRIANGLE, SINE, SAW), (1, 3, 2), (1.0, 10 ** (-9 / 20), 10 ** (-18 / 20)), 0.0)
    params = harmonic_params(torch.full((2, 100), 0.5), midi_to_hz(note), [fit])
    assert params.shape == (2, 100)
    for row in params:
        pitches = [physical(row, "note_pitch") + 12 * physical(row, f"osc{k}_octave")
                   + physical(row, f"osc{k}_semitone") + physical(row, f"osc{k}_fine") / 100 for k in (1, 2, 3)]
        assert pitches == pytest.approx([note, note + 12 * math.log2(3), note + 12], abs=1e-3)
        assert [physical(row, f"osc{k}_shape") for k in (1, 2, 3)] == pytest.approx([SHAPES[s] for s in fit.shapes])
        assert [physical(row, f"osc{k}_level") for k in (1, 2, 3)] == pytest.approx(
            [0.5, 0.5 * 10 ** (-9 / 20), 0.5 * 10 ** (-18 / 20)], abs=1e-6)
        assert physical(row, "noise_level") == 0.0 and physical(row, "reverb_mix") == 0.0
    # rendered, the synth's first 8 partials follow the fit's model within 3 dB (the oscillators' phases shift the
    # summed partials a little; above them the band-limited waveforms roll off faster than 1 / h: 4.7 dB at the 13th)
    audio = render(with_loudness(params[:1], ENVELOPE), path="eager")[0]
    read = partial_levels(audio, midi_to_hz(note))
    want = modelled(fit, read.shape[0])
    read_db, want_db = (20 * torch.log10(v.clamp_min(1e-12) / v[0]) for v in (read, want))
    assert (read_db[:8] - want_db[:8]).abs().max() < 3.0


def test_a_fit_the_offsets_cannot_reach_from_a_high_note_is_left_out():
    fit = HarmonicFit((SINE, SINE, SINE), (1, 8, 2), (1.0, 0.5, 0.5), 0.0)
    high = midi_to_hz(100.0)  # above the note range: every oscillator moved an octave up, 8x is out of reach
    assert harmonic_params(SOURCE, high, [fit]).shape == (0, 100)
    assert harmonic_params(SOURCE, midi_to_hz(60.0), [fit]).shape == (1, 100)


def test_add_harmonics_joins_the_pool_on_a_pitched_target_only():
    t = torch.arange(65408) / 16000
    tone = 0.3 * (torch.sin(2 * math.pi * 196.0 * t) + 0.5 * torch.sin(2 * math.pi * 588.0 * t)) * (t < 2.0)
    target = Target.from_audio(tone, "tone")
    pool = torch.rand(4, 100, generator=torch.Generator().manual_seed(0))
    scores = score(pool, target, render_path="eager")
    config = SamplingConfig(pool=4, samples=2, harmonics=3)
    params, joined = add_harmonics(pool, scores, target, config, ENVELOPE, render_path="eager")
    assert params.shape == (4 + 2 * 3, 100) and joined.match.shape == (10,)
    assert torch.equal(params[:4], pool)
    added = float(joined.match[4:].min())
    assert added < float(scores.match.min())  # a sine and its third partial: the fit plays it, random rows do not
    off = SamplingConfig(pool=4, samples=2, harmonics=0)
    assert add_harmonics(pool, scores, target, off, ENVELOPE, render_path="eager")[0] is pool
    noise = Target.from_audio(0.1 * torch.randn(65408, generator=torch.Generator().manual_seed(1)), "noise")
    assert math.isnan(noise.pitch_hz)
    assert add_harmonics(pool, scores, noise, config, ENVELOPE, render_path="eager")[0] is pool
