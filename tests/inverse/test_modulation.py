"""Vibrato and tremolo: a swing fitted beside a trend, read off rendered notes, set on copies, kept where closer."""

import math
from dataclasses import replace

import pytest
import torch

from inverse.modulation import (
    MIN_FRAMES,
    Swing,
    estimate_tremolo,
    estimate_vibrato,
    fit_swing,
    level_track,
    modulated_copies,
    tremolo_amount,
    with_tremolo,
    with_vibrato,
)
from inverse.refine import swung
from inverse.sampling import SamplingConfig, add_modulation
from inverse.target import Target, score
from synth.params import PARAM_INDEX, PARAM_SPECS, from_physical, to_physical
from synth.prior import draw
from synth.spectrogram import DEFAULT_CONFIG
from synth.voice import render


def set_physical(patch: torch.Tensor, name: str, value: float) -> None:
    patch[PARAM_INDEX[name]] = from_physical(PARAM_SPECS[PARAM_INDEX[name]], value)


def physical(patch: torch.Tensor, name: str) -> float:
    return to_physical(PARAM_SPECS[PARAM_INDEX[name]], float(patch[PARAM_INDEX[name]]))


@pytest.fixture(scope="module")
def steady_saw() -> torch.Tensor:
    """A musical-prior patch reduced to one sawtooth on A3 (220 Hz), held, no LFO on pitch or level."""
    patch = draw(5, 0, 1, prior="2")[0]
    for name in ("osc2_level", "osc3_level", "ring_level", "analog_drift", "sub_level", "noise_level",
                 "osc1_fm_index", "osc1_vibrato", "osc2_vibrato", "osc3_vibrato", "lfo2_tremolo", "chorus_mix",
                 "delay_mix", "reverb_mix", "filter_lfo_amount", "pitch_env_amount", "lfo1_pwm"):
        set_physical(patch, name, 0.0)
    for name, value in (("osc1_level", 0.8), ("osc1_shape", 2 / 3), ("osc1_octave", 0), ("osc1_semitone", 0),
                        ("osc1_fine", 0.0), ("note_pitch", 57.0), ("filter_cutoff", 16000.0),
                        ("amp_env_sustain", 0.8), ("amp_env_attack", 0.01), ("note_gate", 3.0),
                        ("output_gain", -12.0)):
        set_physical(patch, name, value)
    return patch


VIBRATO = Swing(rate_hz=5.5, depth=30.0, phase=0.2, share=1.0, cycles=16.0)
TREMOLO = Swing(rate_hz=4.0, depth=4.0, phase=0.6, share=1.0, cycles=12.0)


def test_a_swing_beside_a_trend_is_fitted_back():
    t = torch.arange(150, dtype=torch.float64) * 0.02
    y = 2.0 + 0.5 * t - 0.1 * t.square() + 30.0 * torch.sin(2 * math.pi * (0.2 + 5.5 * t))
    y = y + 0.5 * torch.randn(len(t), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    swing = fit_swing(t, y)
    assert swing.rate_hz == pytest.approx(5.5, abs=0.01)
    assert swing.depth == pytest.approx(30.0, abs=0.5)
    assert swing.phase == pytest.approx(0.2, abs=0.01)
    assert swing.share > 0.99 and swing.cycles == pytest.approx(5.5 * float(t[-1]), rel=0.01)


def test_too_few_frames_or_only_a_trend_fit_nothing():
    t = torch.arange(MIN_FRAMES - 1, dtype=torch.float64) * 0.02
    assert fit_swing(t, torch.sin(2 * math.pi * 5 * t)) is None
    t = torch.arange(100, dtype=torch.float64) * 0.02
    assert fit_swing(t, 3.0 - 2.0 * t) is None  # the trend leaves nothing


def test_a_rendered_vibrato_is_read_as_one_and_not_as_a_tremolo(steady_saw):
    audio = render(with_vibrato(steady_saw[None], VIBRATO))[0]
    vibrato = estimate_vibrato(audio)
    assert vibrato.rate_hz == pytest.approx(VIBRATO.rate_hz, abs=0.05)
    assert vibrato.depth == pytest.approx(VIBRATO.depth, rel=0.25)
    assert abs((vibrato.phase - VIBRATO.phase + 0.5) % 1.0 - 0.5) < 0.05
    assert estimate_tremolo(audio) is None


def test_a_rendered_tremolo_is_read_as_one_and_not_as_a_vibrato(steady_saw):
    audio = render(with_tremolo(steady_saw[None], TREMOLO))[0]
    tremolo = estimate_tremolo(audio)
    assert tremolo.rate_hz == pytest.approx(TREMOLO.rate_hz, abs=0.05)
    assert tremolo.depth == pytest.approx(TREMOLO.depth, rel=0.25)
    assert abs((tremolo.phase - TREMOLO.phase + 0.5) % 1.0 - 0.5) < 0.05
    assert estimate_vibrato(audio) is None


def test_a_steady_note_swings_neither_way(steady_saw):
    audio = render(steady_saw[None])[0]
    assert estimate_vibrato(audio) is None and estimate_tremolo(audio) is None
    t, db = level_track(audio)
    assert len(t) > 100 and float(db.max()) <= 0.0


def test_copies_take_the_swing_and_keep_their_sustained_level(steady_saw):
    vibrato = with_vibrato(steady_saw[None], VIBRATO)[0]
    assert [round(physical(vibrato, f"osc{i}_vibrato"), 3) for i in (1, 2, 3)] == [30.0] * 3
    assert physical(vibrato, "lfo1_rate") == pytest.approx(5.5, rel=1e-4)
    assert physical(vibrato, "lfo1_phase") == pytest.approx(0.2, abs=1e-6) and physical(vibrato, "lfo1_fade") == 0
    tremolo = with_tremolo(steady_saw[None], TREMOLO)[0]
    amount = tremolo_amount(4.0)
    assert amount == pytest.approx(1 - 10 ** (-8 / 20)) and physical(tremolo, "lfo2_tremolo") == pytest.approx(amount)
    assert physical(tremolo, "amp_env_sustain") == pytest.approx(min(1.0, 0.8 / (1 - amount / 2)), rel=1e-5)
    assert tremolo_amount(0.0) == 0.0 and tremolo_amount(100.0) == pytest.approx(1.0)
    both = modulated_copies(steady_saw[None], VIBRATO, TREMOLO)
    assert both.shape == (3, 100) and torch.equal(both[0], vibrato) and torch.equal(both[1], tremolo)
    assert modulated_copies(steady_saw[None], None, TREMOLO).shape == (1, 100)
    assert modulated_copies(steady_saw[None], None, None).shape == (0, 100)


def test_only_copies_closer_than_their_row_are_kept(steady_saw):
    target = Target.from_audio(render(with_vibrato(steady_saw[None], VIBRATO))[0])
    vibrato, tremolo = target.swings  # read once, kept
    assert vibrato is not None and tremolo is None and target.swings[0] is vibrato
    off_phase = with_vibrato(steady_saw[None], Swing(5.5, 30.0, 0.7, 1.0, 16.0))
    rows = torch.cat([steady_saw[None], off_phase])
    match = score(rows, target).match
    found, scores = swung(rows, match, target)
    assert found.shape[0] == 2 and bool((scores.match < match).all())
    assert abs(physical(found[1], "lfo1_phase") - 0.2) < 0.05  # back in step with the target
    assert swung(rows, torch.zeros(2), target)[0].shape[0] == 0  # nothing beats a perfect match
    steady = Target.from_audio(render(steady_saw[None])[0])
    assert swung(rows, score(rows, steady).match, steady)[0].shape[0] == 0  # no swing read: no copies


def test_the_pool_gets_copies_only_where_the_target_swings(steady_saw):
    rows = torch.cat([steady_saw[None], draw(7, 0, 3, prior="2")])
    swinging = Target.from_audio(render(with_vibrato(steady_saw[None], VIBRATO))[0])
    steady = Target.from_audio(render(steady_saw[None])[0])
    for target, added in ((swinging, 2), (steady, 0)):
        params, scores = add_modulation(rows, score(rows, target), target, SamplingConfig(modulation=2))
        assert params.shape[0] == rows.shape[0] + added and scores.match.shape[0] == params.shape[0]
    params, _ = add_modulation(rows, score(rows, swinging), swinging, SamplingConfig(modulation=0))
    assert params.shape[0] == rows.shape[0]
    with pytest.raises(ValueError, match="modulation"):
        SamplingConfig(modulation=-1).validate()


def test_the_answer_says_what_swing_it_read():
    from inverse.predict import Prediction

    line = Prediction(None, None, swings=(VIBRATO, TREMOLO)).swing_line()
    assert line.startswith("the target's pitch swings at 5.5 Hz, 30 cents deep (a vibrato) and its level swings at "
                           "4.0 Hz, 8.0 dB from peak to trough (a tremolo);")
    assert Prediction(None, None, swings=(None, TREMOLO)).swing_line().startswith("the target's level swings at 4.0")
    gated = replace(TREMOLO, rate_hz=1.7, depth=52.8)  # two spoken words with silence between read like this
    assert Prediction(None, None, swings=(None, gated)).swing_line().startswith(
        "the target's level swings at 1.7 Hz by more than 30 dB, the sound coming and going (like a gate, or a "
        "tremolo at full depth);")
    assert Prediction(None, None, swings=(VIBRATO, None))._swings_json() == {
        "vibrato": {"rate_hz": 5.5, "depth_cents": 30.0}, "tremolo": None}
    assert Prediction(None, None)._swings_json() == {}  # predict did not look (--modulation 0)


def test_a_track_that_jumps_an_octave_is_no_vibrato():
    t = torch.arange(DEFAULT_CONFIG.num_samples) / 16000
    hz = torch.where(torch.floor(t / 0.2) % 2 == 0, 220.0, 440.0)  # an octave trill at 2.5 Hz: 1200 cents
    audio = 0.5 * torch.sin(2 * math.pi * torch.cumsum(hz, 0) / 16000) * (t < 3.0)
    assert estimate_vibrato(audio) is None  # deeper than MAX_CENTS
