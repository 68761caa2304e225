"""The pitch check on a clearly pitched synth note: a candidate 300 cents off is moved back onto the target's
pitch; where no moved copy may be kept, the candidate with the target's pitch comes first; a target without a
clear pitch leaves the candidates as they were."""

import math

import pytest
import torch

from inverse.pitch_check import check_pitch
from inverse.sampling import Candidates
from inverse.target import Target, score
from inverse.transpose import transposed
from synth import render
from synth.params import PARAM_INDEX
from synth.pitch import cents
from synth.prior import draw

NOTE = PARAM_INDEX["note_pitch"]


def single_oscillator() -> torch.Tensor:
    """``Tensor[1, 100]``: one saw-like oscillator at MIDI 60, filter open (a clear pitch, ~262 Hz)."""
    params = draw(11, 1, 1, prior="2")
    for name in ("osc2_level", "osc3_level", "noise_level", "ring_level", "sub_level", "osc1_fm_index"):
        params[:, PARAM_INDEX[name]] = 0.0
    for name, value in (("osc1_level", 1.0), ("osc1_octave", 0.5), ("osc1_semitone", 0.5), ("filter_cutoff", 1.0),
                        ("filter_type", 0.1), ("pitch_env_amount", 0.5), ("note_pitch", 0.5)):
        params[:, PARAM_INDEX[name]] = value
    return params


@pytest.fixture(scope="module")
def case() -> tuple[torch.Tensor, Target, torch.Tensor]:
    truth = single_oscillator()
    off, _ = transposed(truth, torch.tensor([-300.0]))
    return truth, Target.from_audio(render(truth, path="eager")[0]), off


def candidates(params: torch.Tensor, target: Target) -> Candidates:
    return Candidates(params, score(params, target, render_path="eager"), torch.arange(params.shape[0]), True,
                      params[0])


def test_a_candidate_off_the_targets_pitch_is_moved_onto_it(case):
    truth, target, off = case
    before = candidates(off, target)
    found = check_pitch(before, target, render_path="eager")
    assert found.pitch.checked and found.pitch.agrees.tolist() == [True]
    assert int(found.pool_index[0]) == -1  # a moved copy, not a pool row
    assert abs(float(found.params[0, NOTE] - truth[0, NOTE])) * 72 * 100 <= 25  # back within 25 cents
    assert float(found.match[0]) < float(before.match[0])
    others = [i for i in range(100) if i != NOTE]
    assert torch.equal(found.params[0, others], off[0, others])


def test_the_candidate_with_the_targets_pitch_comes_first(case):
    truth, target, off = case
    before = candidates(torch.cat([off, truth]), target)
    before.scores.match = torch.tensor([0.1, 0.2])  # as if the ranking had put the one 300 cents off first
    found = check_pitch(before, target, keep_tolerance=-1.0, render_path="eager")  # no moved copy is kept
    assert found.pool_index.tolist() == [1, 0] and found.pitch.agrees.tolist() == [True, False]
    off_by = float(cents(found.pitch.candidate_hz[1], torch.tensor(found.pitch.target_hz)))
    assert abs(off_by + 300) <= 25


def test_a_target_without_a_clear_pitch_keeps_the_order(case):
    truth, _, off = case
    noise = Target.from_audio(0.3 * torch.randn(65408, generator=torch.Generator().manual_seed(0)))
    before = candidates(torch.cat([off, truth]), noise)
    found = check_pitch(before, noise, render_path="eager")
    assert not found.pitch.checked and math.isnan(found.pitch.target_hz)
    assert found.pitch.candidate(0) is None  # no pitch reported without a pitched target
    assert torch.equal(found.params, before.params) and torch.equal(found.match, before.match)
