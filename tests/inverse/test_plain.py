"""Plain candidates (inverse.plain): one waveform at the target's pitch, its level and loudness contour."""

import math

import pytest
import torch

from inverse.plain import (
    ENVELOPE_FLOOR_DB,
    PLAIN,
    SHAPES,
    fitted_loudness,
    level_contour_db,
    level_matched,
    note_and_octave,
    plain_params,
    with_loudness,
)
from inverse.sampling import SamplingConfig, add_plain, add_refitted
from inverse.target import Target, score
from synth.params import PARAM_INDEX, PARAM_SPECS, to_physical
from synth.pitch import estimate_pitch
from synth.spectrogram import DEFAULT_CONFIG
from synth.symmetry import SLOTS, inaudible
from synth.voice import render

ENVELOPE = {"amp_env_attack": 0.02, "amp_env_decay": 0.4, "amp_env_sustain": 0.3, "amp_env_release": 0.15,
            "note_gate": 1.2, "amp_env_curve": 0.5}


def physical(params: torch.Tensor, name: str) -> float:
    return to_physical(PARAM_SPECS[PARAM_INDEX[name]], float(params[PARAM_INDEX[name]]))


def test_note_and_octave_reach_the_pitch_through_the_oscillators_octave_offset():
    assert note_and_octave(440.0) == (69.0, 0.0)
    note, octave = note_and_octave(20.0)  # MIDI 15.5: below the note's range of 24-96
    assert octave == -1.0 and note + 12 * octave == pytest.approx(69 + 12 * math.log2(20 / 440), abs=1e-9)
    note, octave = note_and_octave(3000.0)
    assert octave == 1.0 and note + 12 * octave == pytest.approx(69 + 12 * math.log2(3000 / 440), abs=1e-9)
    with pytest.raises(ValueError, match="outside"):
        note_and_octave(12000.0)


def test_plain_patches_play_each_waveform_at_the_pitch_with_every_colouring_stage_off():
    sources = torch.rand(2, 100, generator=torch.Generator().manual_seed(0))
    params = plain_params(sources, 261.63)
    assert params.shape == (2 * len(SHAPES), 100)
    for row in params:
        slots = row[SLOTS]  # the three oscillators play one sound, in unison and in phase
        assert torch.equal(slots[0], slots[1]) and torch.equal(slots[0], slots[2])
        for name, value in PLAIN.items():
            if not name.endswith("_level"):
                assert physical(row, name) == pytest.approx(value, abs=1e-3 * (1 + abs(value))), name
    assert [physical(row, "osc1_shape") for row in params[:len(SHAPES)]] == pytest.approx(list(SHAPES))
    kept = [PARAM_INDEX[name] for name in ("note_gate", "amp_env_attack", "amp_env_release", "output_gain")]
    assert torch.equal(params[len(SHAPES):, kept], sources[1:, kept].expand(len(SHAPES), -1))
    pitch = estimate_pitch(render(params[:len(SHAPES)], path="eager"))
    assert (1200 * torch.log2(pitch.f0_hz / 261.63)).abs().max() < 10


def test_level_matching_meets_the_target_level_beyond_one_oscillators_reach():
    """Targets 10.5 dB below, 15.6 and 20 dB above a plain saw at -12 dB of output gain: the quieter by one
    oscillator and the output gain (the other two silent), the louder with a second and a third oscillator in unison
    filled in only where the one before is at full level and the output gain at 0 dB."""
    params = plain_params(with_loudness(torch.full((1, 100), 0.5), ENVELOPE), 220.0)[2:3]
    audio = render(params, path="eager")[0]
    for factor, playing in ((0.3, 1), (6.0, 2), (10.0, 3)):
        matched = level_matched(params, factor * audio, "eager")
        rms = render(matched, path="eager").pow(2).mean().sqrt()
        assert abs(float(20 * torch.log10(rms / (factor * audio).pow(2).mean().sqrt()))) < 0.5
        assert [physical(matched[0], f"osc{k}_level") > 0 for k in (1, 2, 3)] == [k <= playing for k in (1, 2, 3)]
    assert physical(matched[0], "osc1_level") > 0.45 and physical(matched[0], "output_gain") > -0.1


def test_one_oscillator_at_full_level_sounds_as_three_in_unison_and_frees_the_others_settings():
    three = plain_params(with_loudness(torch.full((1, 100), 0.5), ENVELOPE), 220.0)  # 1/3 each
    one = three.clone()
    one[:, [PARAM_INDEX[f"osc{k}_level"] for k in (1, 2, 3)]] = torch.tensor([1.0, 0.0, 0.0])
    assert (render(one, path="eager") - render(three, path="eager")).abs().max() < 1e-5
    hidden = set(inaudible(one[0]))
    assert {PARAM_INDEX[name] for name in ("osc2_shape", "osc3_octave", "osc2_fine")} <= hidden
    assert PARAM_INDEX["osc1_shape"] not in hidden


def test_the_envelope_fit_follows_a_rendered_contour():
    """A synth note with a known envelope: the fitted envelope's contour is within a few dB of the note's."""
    truth = with_loudness(plain_params(torch.full((1, 100), 0.5), 330.0)[2:3], ENVELOPE)
    audio = render(truth, path="eager")[0]
    fitted = fitted_loudness(audio)
    assert set(fitted) == set(ENVELOPE)
    again = render(with_loudness(truth, fitted), path="eager")[0]
    contour, fitted_contour = level_contour_db(audio), level_contour_db(again)
    sounding = contour > ENVELOPE_FLOOR_DB + 1
    assert float((contour - fitted_contour)[sounding].abs().mean()) < 3.0
    assert abs(fitted["note_gate"] - ENVELOPE["note_gate"]) < 0.3


def test_a_plain_target_is_matched_by_a_plain_candidate_and_an_unpitched_one_gets_none():
    truth = with_loudness(plain_params(torch.full((1, 100), 0.5), 196.0)[2:3], ENVELOPE)  # a saw
    target = Target.from_audio(render(truth, path="eager")[0])
    pool = torch.rand(3, 100, generator=torch.Generator().manual_seed(1))
    scores = score(pool, target, render_path="eager")
    loudness = fitted_loudness(target.audio)
    params, together = add_plain(pool, scores, target, SamplingConfig(plain=2), loudness, "eager")
    assert params.shape[0] == 3 + 2 * len(SHAPES) and torch.equal(params[:3], pool)
    assert float(together.mss[3:].min()) < 0.25 * float(scores.mss.min())
    assert int(together.mss.argmin()) == 3 + 2  # the fitted source's saw
    noise = Target.from_audio(0.1 * torch.randn(DEFAULT_CONFIG.num_samples, generator=torch.Generator().manual_seed(2)))
    assert add_plain(pool, scores, noise, SamplingConfig(plain=2), loudness, "eager")[0].shape[0] == 3
    assert add_plain(pool, scores, target, SamplingConfig(plain=0), loudness, "eager")[0].shape[0] == 3


def test_refitted_copies_follow_the_targets_contour_at_its_level_and_only_extend_the_pool():
    truth = with_loudness(plain_params(torch.full((1, 100), 0.5), 196.0)[2:3], ENVELOPE)
    target = Target.from_audio(render(truth, path="eager")[0])
    pool = with_loudness(truth.repeat(3, 1), {"amp_env_attack": 0.4, "amp_env_decay": 3.0, "note_gate": 3.5})
    pool[1:, PARAM_INDEX["osc1_shape"]] = torch.tensor([0.0, 1.0])  # three different rows, one envelope
    pool[:, PARAM_INDEX["output_gain"]] = 0.2
    scores = score(pool, target, render_path="eager")
    fitted = fitted_loudness(target.audio)
    params, together = add_refitted(pool, scores, target, SamplingConfig(refit=2), fitted, "eager")
    assert params.shape[0] == 5 and torch.equal(params[:3], pool)
    for copy in params[3:]:
        assert {name: physical(copy, name) for name in ENVELOPE} == pytest.approx(fitted, rel=1e-4, abs=1e-4)
    level = render(params[3:], path="eager").pow(2).mean(dim=1).sqrt() / target.audio.pow(2).mean().sqrt()
    assert (20 * torch.log10(level)).abs().max() < 1.0  # the output gain meets the target's level
    assert float(together.mss[3:].min()) < float(scores.mss.min())
    assert add_refitted(pool, scores, target, SamplingConfig(refit=0), fitted, "eager")[0].shape[0] == 3
