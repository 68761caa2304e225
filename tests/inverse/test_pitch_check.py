"""The pitch check on a clearly pitched synth note: a candidate 300 cents off is moved back onto the target's
pitch; a moved copy closer than every candidate leads and the others are chosen again around it; where no moved
copy may be kept, the candidate with the target's pitch comes first; a target without a clear pitch leaves the
candidates as they were; a sub-oscillator an octave below costs a candidate the ranking's sub-octave term."""

import math
import time

import pytest
import torch

from inverse.pitch_check import check_pitch
from inverse.sampling import Candidates, SamplingConfig, choose, select_spread
from inverse.target import Scores, Target, score
from inverse.transpose import transposed
from synth import render
from synth.params import PARAM_INDEX
from synth.perceptual import SUBOCTAVE_WEIGHT, features, match_distance, suboctave_excess
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


def pool(params: torch.Tensor, target: Target) -> tuple[torch.Tensor, Scores]:
    return params, score(params, target, render_path="eager")


def every_row(params: torch.Tensor, scores: Scores, excluded: torch.Tensor | None = None) -> Candidates:
    """A selection that returns the whole pool in match order, the excluded rows last."""
    order = torch.argsort(scores.match, stable=True)
    if excluded is not None:
        order = order[torch.argsort(excluded[order].int(), stable=True)]
    return Candidates(params[order], scores.select(order), order, True, params[0])


def with_pitch(params: torch.Tensor, name: str, value: float) -> torch.Tensor:
    params = params.clone()
    params[:, PARAM_INDEX[name]] = value
    return params


def test_a_candidate_off_the_targets_pitch_is_moved_onto_it(case):
    truth, target, off = case
    params, scores = pool(off, target)
    found = check_pitch(params, scores, every_row, target, render_path="eager")
    assert found.pitch.checked and found.pitch.agrees.tolist() == [True]
    assert int(found.pool_index[0]) == -1  # a moved copy, not a pool row
    assert abs(float(found.params[0, NOTE] - truth[0, NOTE])) * 72 * 100 <= 25  # back within 25 cents
    assert float(found.match[0]) < float(scores.match[0])
    others = [i for i in range(100) if i != NOTE]
    assert torch.equal(found.params[0, others], off[0, others])


def test_the_candidate_with_the_targets_pitch_comes_first(case):
    truth, target, off = case
    params, scores = pool(torch.cat([off, truth]), target)
    scores.match = torch.tensor([0.1, 0.2])  # as if the ranking had put the one 300 cents off first
    found = check_pitch(params, scores, every_row, target, keep_tolerance=-1.0, render_path="eager")  # none kept
    assert found.pool_index.tolist() == [1, 0] and found.pitch.agrees.tolist() == [True, False]
    off_by = float(cents(found.pitch.candidate_hz[1], torch.tensor(found.pitch.target_hz)))
    assert abs(off_by + 300) <= 25


def test_a_moved_copy_closer_than_every_candidate_leads_and_the_choice_is_made_again(case):
    truth, target, _ = case
    source = with_pitch(truth, "filter_cutoff", 0.9)  # a near miss whose copy (MSS 0.097) beats the rest
    off, _ = transposed(source, torch.tensor([-300.0]))
    params, scores = pool(torch.cat([off, with_pitch(truth, "filter_cutoff", 0.8),
                                     with_pitch(truth, "filter_cutoff", 0.7)]), target)
    # As if the one 300 cents off had ranked first and the two others were within 1.5x its MSS: both are
    # outside 1.5x the copy's, so a copy swapped in place of its source would have to be refused.
    scores.match, scores.mss = torch.tensor([0.11, 0.12, 0.13]), torch.tensor([0.10, 0.148, 0.149])
    config = SamplingConfig(samples=2, min_distance=0.0, within=1.5)
    found = choose(params, scores, params[0], config, target, render_path="eager")
    assert found.pool_index.tolist()[0] == -1 and found.pitch.agrees.tolist()[0]
    assert float(found.mss[0]) < 0.148 / 1.5 and float(found.match[0]) < 0.11
    assert abs(float(found.params[0, NOTE] - source[0, NOTE])) * 72 * 100 <= 25
    assert found.pool_index.tolist()[1] == 1 and not found.diverse  # the best of the rest, flagged: out of bound
    assert torch.equal(found.pitch.agrees, torch.tensor([True, True]))  # the one chosen again is tracked too


def spread_of_two(params: torch.Tensor, scores: Scores, excluded: torch.Tensor | None = None) -> Candidates:
    """The spread choice (:func:`select_spread`) of two rows, no minimum distance."""
    chosen, diverse = select_spread(params, scores.match, scores.mss, 2, 1.5, 0.0, excluded)
    index = torch.tensor(chosen)
    return Candidates(params[index], scores.select(index), index, diverse, params[0])


def test_a_candidate_left_off_the_pitch_is_replaced_by_one_on_it(case):
    truth, target, off = case
    near = with_pitch(truth, "filter_cutoff", 0.99)  # on the pitch, nearer the best in parameters than `off`
    params, scores = pool(torch.cat([truth, off, near]), target)
    scores.match, scores.mss = torch.tensor([0.10, 0.12, 0.13]), torch.tensor([0.10, 0.11, 0.12])
    assert spread_of_two(params, scores).pool_index.tolist() == [0, 1]  # the farther: the one 300 cents off
    found = check_pitch(params, scores, spread_of_two, target, keep_tolerance=-1.0, render_path="eager")  # not moved
    assert found.pool_index.tolist() == [0, 2] and found.pitch.agrees.tolist() == [True, True]
    kept = check_pitch(params, scores, spread_of_two, target, keep_tolerance=-1.0, render_path="eager", rounds=0)
    assert kept.pool_index.tolist() == [0, 1] and kept.pitch.agrees.tolist() == [True, False]  # no round: stays


def test_a_deadline_stops_the_rounds_as_a_check_of_fewer_rounds(case, monkeypatch, ticking_clock):
    import inverse.pitch_check as pitch_check_module

    truth, target, off = case
    params, scores = pool(torch.cat([truth, off, with_pitch(truth, "filter_cutoff", 0.99)]), target)
    scores.match, scores.mss = torch.tensor([0.10, 0.12, 0.13]), torch.tensor([0.10, 0.11, 0.12])

    def checked(**budget) -> Candidates:
        return check_pitch(params, scores, spread_of_two, target, keep_tolerance=-1.0, render_path="eager", **budget)

    full, none = checked(), checked(rounds=0)
    assert full.pitch.stopped_after is None and full.pool_index.tolist() == [0, 2]
    roomy = checked(deadline=time.perf_counter() + 1e6)
    assert roomy.pitch.stopped_after is None and torch.equal(roomy.params, full.params)
    past = checked(deadline=time.perf_counter() - 1.0)  # no round begins: the check of rounds=0, and it says so
    assert past.pitch.stopped_after == 0 and none.pitch.stopped_after is None
    assert past.pool_index.tolist() == none.pool_index.tolist() == [0, 1]
    assert torch.equal(past.pitch.agrees, none.pitch.agrees)
    # One clock call as the rounds start (0 s), one after each round's tracking (1 s, 2 s): round 0 took 1 s, so with
    # a deadline of 2.5 s round 1 (2 + 1 > 2.5) does not begin: stopped after one round, as rounds=1 ends.
    ticking_clock(pitch_check_module)
    one = checked(deadline=2.5)
    monkeypatch.undo()
    assert one.pitch.stopped_after == 1 and one.pool_index.tolist() == checked(rounds=1).pool_index.tolist()


def test_a_target_without_a_clear_pitch_keeps_the_order(case):
    truth, _, off = case
    noise = Target.from_audio(0.3 * torch.randn(65408, generator=torch.Generator().manual_seed(0)))
    params, scores = pool(torch.cat([off, truth]), noise)
    before = every_row(params, scores)
    found = check_pitch(params, scores, every_row, noise, render_path="eager")
    assert not found.pitch.checked and math.isnan(found.pitch.target_hz)
    assert found.pitch.candidate(0) is None  # no pitch reported without a pitched target
    assert torch.equal(found.params, before.params) and torch.equal(found.match, before.match)


def test_a_sub_oscillator_an_octave_below_costs_the_sub_octave_term(case):
    """The ranking (``score``) adds the sub-octave term on the target's CREPE pitch: the note itself pays none of it,
    the same note with the synth's sub-oscillator an octave below (what pYIN hears as the lower note) pays it."""
    truth, target, _ = case
    assert abs(float(cents(torch.tensor(target.pitch_hz), torch.tensor(261.63)))) < 50
    layered = with_pitch(with_pitch(truth, "sub_level", 0.5), "sub_octave", 1.0)  # -1 octave
    params = torch.cat([truth, layered])
    scores = score(params, target, render_path="eager")
    plain = match_distance(features(scores.audio), target.features)  # without the target's pitch
    excess = suboctave_excess(features(scores.audio), target.features, target.pitch_hz)
    assert float(excess[0]) < 0.05 and float(excess[1]) > 1.0  # > 10 dB more energy at f0/2 and 3f0/2
    assert torch.allclose(scores.match - plain, SUBOCTAVE_WEIGHT * excess, atol=1e-5)
