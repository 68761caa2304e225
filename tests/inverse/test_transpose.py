"""Pitch alignment (inverse.transpose): the shift that lines a candidate's partials up with the target's."""

import torch

from inverse.sampling import SamplingConfig, add_transposed
from inverse.target import Target, score
from inverse.transpose import BINS_PER_OCTAVE, MIN_CENTS, best_shifts, log_frequency_bank, transposed
from synth.params import PARAM_INDEX, PARAM_NAMES, PARAM_SPECS, from_physical, to_physical
from synth.perceptual import SHAPE_FFT, features
from synth.spectrogram import DEFAULT_CONFIG
from synth.voice import render

STEP = 1200 / BINS_PER_OCTAVE  # cents per log bin


def harmonic(f0: float, partials: int = 8) -> torch.Tensor:
    """A 1/k harmonic tone at ``f0`` Hz, ``Tensor[1, N]``."""
    t = torch.arange(DEFAULT_CONFIG.num_samples) / DEFAULT_CONFIG.sample_rate
    tone = sum(torch.sin(2 * torch.pi * k * f0 * t) / k for k in range(1, partials + 1) if k * f0 < 7000)
    return (0.3 * tone)[None]


def test_bank_sees_every_linear_bin_in_range_and_interpolates_low_bins():
    bank = log_frequency_bank()
    assert bank.shape[1] == SHAPE_FFT // 2 + 1
    hz = torch.arange(bank.shape[1]) * DEFAULT_CONFIG.sample_rate / SHAPE_FFT
    inside = (hz >= 41) & (hz <= 7800)
    assert bool((bank[:, inside].sum(0) > 0).all())
    assert bool((bank.sum(1) > 0).all())  # no log bin is empty, even below ~340 Hz where they are narrow


def test_shift_of_a_tone_against_itself_is_zero():
    shape = features(harmonic(220.0)).shape
    assert float(best_shifts(shape, shape[0])[0]) == 0.0


def test_semitone_fifth_and_octave_shifts_are_found():
    target = features(harmonic(220.0)).shape[0]
    for cents in (100.0, 700.0, -1200.0, 1900.0):
        candidate = features(harmonic(220.0 * 2 ** (-cents / 1200))).shape  # the candidate is cents too low
        assert abs(float(best_shifts(candidate, target)[0]) - cents) <= STEP, cents


def test_transposed_moves_only_the_note_and_stays_in_range():
    params = torch.full((3, 100), 0.5)
    params[1, PARAM_INDEX["note_pitch"]] = from_physical(PARAM_SPECS[0], 95.0)
    cents = torch.tensor([300.0, 300.0, MIN_CENTS / 2])
    moved, movable = transposed(params, cents)
    assert movable.tolist() == [True, False, False]  # MIDI 95 + 3 leaves the range; the last is too small
    note = PARAM_INDEX["note_pitch"]
    assert abs(to_physical(PARAM_SPECS[note], float(moved[0, note])) - 63.0) < 1e-4  # 60 + 3 semitones
    assert torch.equal(moved[1:], params[1:])
    others = [i for i in range(100) if PARAM_NAMES[i] != "note_pitch"]
    assert torch.equal(moved[0, others], params[0, others])


def test_a_rendered_patch_shifted_by_its_transposition_is_found():
    """The synth follows note_pitch: render a patch and its copy 500 cents up; the alignment finds +500."""
    params = torch.full((1, 100), 0.5)
    up, _ = transposed(params, torch.tensor([500.0]))
    shapes = features(render(torch.cat([params, up]), path="eager")).shape
    assert abs(float(best_shifts(shapes[:1], shapes[1])[0]) - 500.0) <= STEP


def test_a_transposed_copy_of_a_candidate_off_by_three_semitones_joins_the_pool_and_wins():
    truth = torch.full((1, 100), 0.5)
    target = Target.from_audio(render(truth, path="eager")[0])
    off, _ = transposed(truth, torch.tensor([-300.0]))
    scores = score(off, target, render_path="eager")
    pool, pool_scores = add_transposed(off, scores, target, SamplingConfig(transpose=1), "eager")
    assert pool.shape == (2, 100)
    note = PARAM_INDEX["note_pitch"]
    assert abs(float(pool[1, note] - truth[0, note])) * 72 * 100 <= STEP  # back within 10 cents of the truth
    assert float(pool_scores.match[1]) < 0.2 * float(pool_scores.match[0])
