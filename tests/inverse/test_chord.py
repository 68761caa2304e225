"""Chord candidates (inverse.chord): the notes a target holds at once, played by the oscillators."""

import math

import pytest
import torch

from inverse.chord import (
    chord_level_matched,
    chord_params,
    chord_sets,
    estimate_notes,
    offsets,
)
from inverse.plain import SHAPES, fitted_loudness, plain_params, with_loudness
from inverse.sampling import SamplingConfig, add_chords
from inverse.target import Target, score
from synth.params import PARAM_INDEX, PARAM_SPECS, to_physical
from synth.spectrogram import DEFAULT_CONFIG
from synth.voice import render

ENVELOPE = {"amp_env_attack": 0.01, "amp_env_decay": 0.5, "amp_env_sustain": 0.6, "amp_env_release": 0.2,
            "note_gate": 2.5, "amp_env_curve": 0.5}
SAW = 2  # SHAPES index of the sawtooth
SOURCE = torch.full((1, 100), 0.5)


def physical(params: torch.Tensor, name: str) -> float:
    return to_physical(PARAM_SPECS[PARAM_INDEX[name]], float(params[PARAM_INDEX[name]]))


def chord_audio(notes: tuple[float, ...], shape: int = SAW) -> torch.Tensor:
    """The synth playing ``notes`` as plain sawtooths (one oscillator a note): ``Tensor[65408]``."""
    params = with_loudness(chord_params(SOURCE, notes)[shape:shape + 1], ENVELOPE)
    return render(params, path="eager")[0]


def test_offsets_reach_each_interval_within_the_oscillators_ranges():
    assert offsets(7.0, 0.0) == (0.0, 7.0, 0.0)
    assert offsets(16.0, 0.0) == (1.0, 4.0, 0.0)  # a tenth: an octave and a third
    octave, semitone, fine = offsets(4.2, 0.0)
    assert (octave, semitone) == (0.0, 4.0) and fine == pytest.approx(20.0)
    octave, semitone, _ = offsets(9.0, 2.0)  # every oscillator already two octaves up (a low note moved)
    assert 12 * (octave - 2.0) + semitone == 9.0 and -2 <= octave <= 2 and -12 <= semitone <= 12
    assert offsets(40.0, 0.0) is None  # beyond two octaves and a twelve-semitone offset


def test_chord_patches_play_their_notes_one_oscillator_each_and_a_dyad_silences_the_third():
    triad = chord_params(torch.full((2, 100), 0.5), (48.0, 52.0, 55.3))
    assert triad.shape == (2 * len(SHAPES), 100)
    for row in triad:
        notes = [physical(row, "note_pitch") + 12 * physical(row, f"osc{k}_octave") + physical(row, f"osc{k}_semitone")
                 + physical(row, f"osc{k}_fine") / 100 for k in (1, 2, 3)]
        assert notes == pytest.approx([48.0, 52.0, 55.3], abs=1e-3)
        assert [physical(row, f"osc{k}_level") for k in (1, 2, 3)] == pytest.approx([0.5] * 3)
        assert physical(row, "noise_level") == 0.0 and physical(row, "reverb_mix") == 0.0
    dyad = chord_params(SOURCE, (60.0, 67.0))
    assert physical(dyad[0], "osc3_level") == 0.0 and physical(dyad[0], "osc2_level") == pytest.approx(0.5)
    with pytest.raises(ValueError, match="2 or 3 notes"):
        chord_params(SOURCE, (48.0, 52.0, 55.0, 60.0))
    with pytest.raises(ValueError, match="beyond"):
        chord_params(SOURCE, (30.0, 75.0))


def test_the_notes_of_a_rendered_chord_are_read_and_a_single_note_reads_as_one():
    for notes in ((48.0, 52.0, 55.0), (57.0, 60.0, 64.0), (43.0, 50.0)):
        read = sorted(note for note, _ in estimate_notes(chord_audio(notes)))
        assert read == pytest.approx(list(notes), abs=0.1), (notes, read)
    single = render(with_loudness(plain_params(SOURCE, 196.0)[SAW:SAW + 1], ENVELOPE), path="eager")[0]
    assert [round(note, 1) for note, _ in estimate_notes(single)] == [55.0]
    sine = render(with_loudness(plain_params(SOURCE, 110.0)[0:1], ENVELOPE), path="eager")[0]
    assert [round(note) for note, _ in estimate_notes(sine)] == [45]
    assert estimate_notes(torch.zeros(DEFAULT_CONFIG.num_samples)) == []


def test_a_gliding_pitch_is_not_read_as_a_chord():
    t = torch.arange(DEFAULT_CONFIG.num_samples) / DEFAULT_CONFIG.sample_rate
    f0 = 110.0 * 2.0 ** (t / t[-1])  # an octave up over the window
    phase = 2 * math.pi * torch.cumsum(f0, 0) / DEFAULT_CONFIG.sample_rate
    glide = sum(0.2 / m * torch.sin(m * phase) for m in range(1, 8))
    assert len(estimate_notes(glide)) < 2


def test_chord_sets_put_the_most_salient_first_and_need_two_notes():
    notes = [(60.0, 1.0), (67.0, 0.6), (64.0, 0.5)]
    sets = chord_sets(notes, 10)
    assert sets[0] == (60.0, 64.0, 67.0) and len(sets) == 4 and sets[1] == (60.0, 67.0)
    assert chord_sets(notes, 2) == sets[:2]
    assert chord_sets(notes[:1], 4) == [] and chord_sets(notes, 0) == []


def test_level_matching_meets_the_targets_level_with_equal_levels():
    target = 0.5 * chord_audio((48.0, 52.0, 55.0))
    quiet = chord_params(SOURCE, (48.0, 52.0, 55.0))
    quiet[:, PARAM_INDEX["output_gain"]] = 0.0  # -24 dB
    matched = chord_level_matched(quiet, target, "eager")
    level = render(matched, path="eager").pow(2).mean(dim=1).sqrt() / target.pow(2).mean().sqrt()
    assert (20 * torch.log10(level)).abs().max() < 1.0
    for row in matched:
        levels = [physical(row, f"osc{k}_level") for k in (1, 2, 3)]
        assert levels[0] == pytest.approx(levels[1]) == pytest.approx(levels[2])


def test_a_chord_target_is_matched_by_a_chord_candidate_and_a_single_note_gets_none():
    truth = with_loudness(chord_params(SOURCE, (50.0, 53.0, 57.0))[SAW:SAW + 1], ENVELOPE)
    target = Target.from_audio(render(truth, path="eager")[0])
    pool = torch.rand(3, 100, generator=torch.Generator().manual_seed(1))
    scores = score(pool, target, render_path="eager")
    loudness = fitted_loudness(target.audio)
    params, together = add_chords(pool, scores, target, SamplingConfig(chords=1), loudness, "eager")
    assert params.shape[0] == 3 + 2 * len(SHAPES) and torch.equal(params[:3], pool)
    assert float(together.mss[3:].min()) < 0.25 * float(scores.mss.min())
    assert add_chords(pool, scores, target, SamplingConfig(chords=0), loudness, "eager")[0].shape[0] == 3
    single = Target.from_audio(render(with_loudness(plain_params(SOURCE, 146.8)[SAW:SAW + 1], ENVELOPE),
                                      path="eager")[0])
    assert add_chords(pool, scores, single, SamplingConfig(chords=4), loudness, "eager")[0].shape[0] == 3
