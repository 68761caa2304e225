"""Candidates left off a clear target pitch, or far from the target by the match distance, are replaced by other forms
of those that are not: the replacement matches as its source does, reads the target's pitch, differs from every other
candidate in parameters, and the best candidates and a target without a clear pitch are left alone by the pitch
rule."""

from dataclasses import replace

import pytest
import torch

from inverse.fill import fill_misses
from inverse.pitch_check import check_pitch
from inverse.sampling import Candidates, SamplingConfig
from inverse.target import Target, score
from inverse.transpose import transposed
from synth import render
from tests.inverse.test_pitch_check import every_row, single_oscillator, with_pitch

CONFIG = SamplingConfig(samples=3, min_distance=0.0, spread=2, pitch_fill=True, match_within=0.0)  # the pitch rule


@pytest.fixture(scope="module")
def checked() -> tuple[Candidates, Target]:
    """Two near misses on the pitch and a copy of the first 300 cents off, checked (no copy moved back)."""
    truth = single_oscillator()
    near = with_pitch(truth, "filter_cutoff", 0.9)
    off, _ = transposed(near, torch.tensor([-300.0]))
    target = Target.from_audio(render(truth, path="eager")[0])
    params = torch.cat([near, with_pitch(truth, "filter_cutoff", 0.85), off])
    found = check_pitch(params, score(params, target, render_path="eager"), every_row, target, keep_tolerance=-1.0,
                        render_path="eager", rounds=0)
    assert found.pitch.agrees.tolist() == [True, True, False] and found.pool_index.tolist() == [0, 1, 2]
    return found, target


def test_a_candidate_off_the_pitch_becomes_another_form_of_one_on_it(checked):
    found, target = checked
    filled = fill_misses(found, target, CONFIG, render_path="eager")
    assert filled.pitch.agrees.tolist() == [True, True, True]
    assert sorted(filled.pool_index.tolist()) == [-1, 0, 1]  # the two on the pitch stay, in match order
    assert torch.all(filled.match[1:] >= filled.match[:-1])
    k = filled.pool_index.tolist().index(-1)
    new = filled.params[k]
    assert not any(torch.equal(new, row) for row in found.params)  # a different parameter set
    assert float(filled.match[k]) <= float(found.match[0]) + CONFIG.keep_tolerance  # still matches as its source
    assert float(filled.mss[k]) <= CONFIG.within * float(found.mss.min())
    again = score(new[None], target, render_path="eager")
    assert torch.allclose(again.mss, filled.mss[k:k + 1], atol=1e-6)  # its scores are its own


def test_the_best_candidates_and_unpitched_targets_are_left_alone(checked):
    found, target = checked
    assert fill_misses(found, target, replace(CONFIG, pitch_fill=False), render_path="eager") is found
    best_off = found.select(torch.tensor([2, 0, 1]))  # the one off the pitch first by match
    best_off = replace(best_off, scores=replace(best_off.scores, match=torch.tensor([0.0, 0.1, 0.2])))
    assert fill_misses(best_off, target, CONFIG, render_path="eager") is best_off
    unpitched = replace(found, pitch=replace(found.pitch, target_hz=float("nan")))
    assert fill_misses(unpitched, target, CONFIG, render_path="eager") is unpitched


def test_a_form_below_the_best_is_not_kept_where_it_would_leave_another_outside_the_bound(checked):
    """Recorded MSS set above the sources' own: a form (scored afresh) then lowers the best, and the second
    candidate, just inside 1.5x the old best, would fall outside 1.5x the new one (held-out row 486 did so)."""
    found, target = checked
    lowest = float(found.mss[:2].max()) + 0.01
    mss = torch.tensor([lowest, CONFIG.within * lowest - 1e-4, lowest + 1e-3])
    recorded = replace(found, scores=replace(found.scores, mss=mss))
    assert fill_misses(recorded, target, CONFIG, render_path="eager") is recorded
    roomy = replace(found, scores=replace(found.scores, mss=torch.tensor([lowest, lowest, lowest + 1e-3])))
    filled = fill_misses(roomy, target, CONFIG, render_path="eager")  # nobody near the bound: the form is kept
    assert filled.pitch.agrees.tolist() == [True, True, True]
    assert float(filled.mss.max()) <= CONFIG.within * float(filled.mss.min())


def test_a_candidate_far_by_the_match_distance_becomes_another_form_of_a_close_one(checked):
    """No pitch check; the third candidate's match distance recorded at 10x the best one's (a noise burst that only
    follows the target's loudness): replaced by a form of the best, as close as it."""
    found, target = checked
    best = float(found.match[0])
    match = torch.tensor([best, 1.2 * best, 10 * best])  # the second within 1.5x: no miss
    far = replace(found, pitch=None, scores=replace(found.scores, match=match))
    assert fill_misses(far, target, replace(CONFIG, match_within=0.0), render_path="eager") is far
    filled = fill_misses(far, target, replace(CONFIG, match_within=1.5), render_path="eager")
    assert sorted(filled.pool_index.tolist()) == [-1, 0, 1]
    k = filled.pool_index.tolist().index(-1)
    assert not any(torch.equal(filled.params[k], row) for row in found.params)
    assert float(filled.match[k]) <= best + CONFIG.keep_tolerance  # a form of the best, as close
    assert torch.all(filled.match[1:] >= filled.match[:-1]) and filled.pitch is None
    again = score(filled.params[k:k + 1], target, render_path="eager")
    assert torch.allclose(again.match, filled.match[k:k + 1], atol=1e-6)
