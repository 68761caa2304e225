"""Spreading the returned candidates: every form of a patch keeps each oscillator's pitch; the farthest forms raise
the set's diversity, deterministically; spread candidates sound as they did, stay in match order, within 1.5x the
best one's MSS and on the target's pitch, and nothing changes where no form may be kept."""

import dataclasses

import pytest
import torch

import inverse.spread as spread_module
from inverse.metrics import diversity
from inverse.pitch_check import PitchCheck
from inverse.sampling import Candidates, SamplingConfig
from inverse.spread import SAME, drawn_forms, farthest_forms, kept_apart, kept_inside, spread_out
from inverse.target import Scores, Target, score
from synth import render
from synth.params import PARAM_INDEX, PARAM_SPECS, to_physical
from synth.prior import draw
from synth.symmetry import SLOT_NAMES, forms, inaudible, unheard


def oscillator_pitches(patch: torch.Tensor) -> list[float]:
    """Each audible oscillator's pitch in semitones (note + 12 x octave + semitone), sorted."""
    def value(name: str) -> float:
        return to_physical(PARAM_SPECS[PARAM_INDEX[name]], float(patch[PARAM_INDEX[name]]))

    return sorted(round(value("note_pitch") + 12 * value(f"{s}_octave") + value(f"{s}_semitone"), 3)
                  for s in SLOT_NAMES if value(f"{s}_level") > 0)


@pytest.fixture(scope="module")
def patches() -> torch.Tensor:
    params = draw(31, 0, 6, prior="2")
    params[:, PARAM_INDEX["analog_drift"]] = 0.0  # each slot has its own drift table: swaps would differ a little
    params[:, PARAM_INDEX["ring_level"]] = 0.0
    return params


def test_every_form_keeps_the_oscillator_pitches(patches):
    for patch in patches:
        found = forms(patch)
        assert torch.equal(found[0], patch)
        assert found.shape[0] >= 6  # at least the six slot orders
        assert not bool((found[:, None] == found[None]).all(dim=2).fill_diagonal_(False).any())  # no repeats
        for form in found:
            assert oscillator_pitches(form) == oscillator_pitches(patch)


def test_with_ring_modulation_only_oscillators_1_and_2_swap():
    patch = draw(32, 0, 1, prior="2")[0]
    patch[PARAM_INDEX["ring_level"]] = 0.5
    for name in (patch[PARAM_INDEX["osc1_level"]], patch[PARAM_INDEX["osc2_level"]]):
        assert float(name) != float(patch[PARAM_INDEX["osc3_level"]])
    found = forms(patch)
    assert torch.equal(found[:, PARAM_INDEX["osc3_level"]], patch[PARAM_INDEX["osc3_level"]].expand(len(found)))
    assert bool((found[:, PARAM_INDEX["osc1_level"]] == patch[PARAM_INDEX["osc2_level"]]).any())  # 1-2 swapped


def test_drawn_forms_redraw_only_inaudible_parameters(patches):
    patch = patches[0].clone()
    patch[PARAM_INDEX["delay_mix"]] = 0.0  # delay time, feedback and damping cannot be heard
    written = forms(patch)
    drawn = drawn_forms(patch, torch.Generator().manual_seed(0), draws=3)
    assert drawn.shape[0] == 4 * written.shape[0]
    hidden = [set(inaudible(form)) for form in written]
    for row in drawn:
        assert any(set((row != form).nonzero()[:, 0].tolist()) <= h for form, h in zip(written, hidden, strict=True))
    assert bool((drawn[:, PARAM_INDEX["delay_time"]] != patch[PARAM_INDEX["delay_time"]]).any())


def test_farthest_forms_draw_what_the_voice_never_reaches_and_keep_the_sound(patches):
    """The spread writes a sound with every unheard parameter free (here LFO 1's pulse-width depth and LFO 1, with no
    pulse heard and no vibrato): drawn there, and the audio stays the same bit for bit."""
    params = patches[:2].clone()
    for name in ("osc1_vibrato", "osc2_vibrato", "osc3_vibrato"):
        params[:, PARAM_INDEX[name]] = 0.0
    for slot in SLOT_NAMES:
        params[:, PARAM_INDEX[f"{slot}_shape"]] = 0.3  # no pulse in any morph
    pwm = PARAM_INDEX["lfo1_pwm"]
    params[:, pwm] = 0.5
    assert pwm in unheard(params[0]) and pwm not in inaudible(params[0])
    drawn = drawn_forms(params[0], torch.Generator().manual_seed(0), draws=3, hidden_by=unheard)
    assert bool((drawn[:, pwm] != 0.5).any())
    spread = farthest_forms(params, torch.Generator().manual_seed(0), draws=4)
    assert bool((spread[:, pwm] != 0.5).any())
    moved = params.clone()
    moved[:, pwm] = spread[:, pwm]  # only the unheard depth, so that the slot swaps' drift tables do not count
    assert torch.equal(render(moved), render(params))


def test_farthest_forms_raise_diversity_deterministically(patches):
    first = farthest_forms(patches, torch.Generator().manual_seed(1), draws=4)
    again = farthest_forms(patches, torch.Generator().manual_seed(1), draws=4)
    assert torch.equal(first, again)
    assert diversity(first) > diversity(patches) + 0.01
    for row, patch in zip(first, patches, strict=True):
        assert oscillator_pitches(row) == oscillator_pitches(patch)


def candidates_for(params: torch.Tensor, target: Target) -> Candidates:
    scores = score(params, target, render_path="eager")
    order = torch.argsort(scores.match, stable=True)
    return Candidates(params[order], scores.select(order), order, True, params[0])


def test_spread_candidates_sound_as_before_and_stay_in_match_order(patches):
    target = Target.from_audio(render(draw(33, 0, 1, prior="2"), path="eager")[0])
    before = candidates_for(patches, target)
    after = spread_out(before, target, SamplingConfig(spread=4, within=100.0), render_path="eager")
    assert diversity(after.params) > diversity(before.params)
    assert bool((after.match[1:] >= after.match[:-1]).all())
    rows = {int(i): k for k, i in enumerate(before.pool_index)}
    for k, i in enumerate(after.pool_index.tolist()):
        assert float(after.match[k]) <= float(before.match[rows[i]]) + SAME
        assert float(after.mss[k]) <= float(before.mss[rows[i]]) + SAME
    assert torch.equal(after.audio, render(after.params, path="eager"))


def test_nothing_changes_without_draws_or_when_no_form_may_be_kept(patches):
    target = Target.from_audio(render(draw(33, 0, 1, prior="2"), path="eager")[0])
    before = candidates_for(patches, target)
    assert spread_out(before, target, SamplingConfig(spread=0), render_path="eager") is before
    tight = dataclasses.replace(before, scores=dataclasses.replace(before.scores, mss=before.mss * 0 + 1e-6))
    # no form as close to the target as the originals
    assert spread_out(tight, target, SamplingConfig(spread=4), render_path="eager") is tight


@pytest.mark.parametrize("lowered, kept", [(0.97, False), (0.995, True)])
def test_a_form_that_lowers_the_best_mss_is_kept_only_where_the_others_stay_within_the_bound(
        patches, monkeypatch, lowered, kept):
    """MSS 1.0, 1.45, 1.49 and the best one's form at ``lowered``: 1.49 is outside 1.5 x 0.97, inside 1.5 x 0.995."""
    params = patches[:3]
    key = PARAM_INDEX["amp_env_attack"]  # no form changes it: tells which candidate a form comes from

    def fake_scores(mss: torch.Tensor) -> Scores:
        n = len(mss)
        return Scores(mss, mss, torch.zeros(n, 8), torch.zeros(n, 3))

    def fake_score(rows: torch.Tensor, target: Target, render_path: str = "auto") -> Scores:
        source = [int((params[:, key] == row[key]).nonzero()[0, 0]) for row in rows]
        return fake_scores(torch.tensor([lowered, 1.45, 1.49])[source])

    monkeypatch.setattr(spread_module, "score", fake_score)
    before = Candidates(params, fake_scores(torch.tensor([1.0, 1.45, 1.49])), torch.arange(3), True, params[0])
    after = spread_out(before, None, SamplingConfig(spread=4))
    assert not torch.equal(after.params[1:], before.params[1:])  # the other two take their farthest forms
    assert torch.equal(after.params[0], before.params[0]) is not kept
    assert float(after.mss.max()) <= 1.5 * float(after.mss.min())


def test_kept_inside_drops_only_replacements_that_lower_the_lowest_and_leave_another_outside():
    """Distances 1.0, 1.45, 1.49 (MSS or match): rows 0 and 2 replaced by 0.97 and 1.4."""
    old, rows, keep = torch.tensor([1.0, 1.45, 1.49]), torch.tensor([0, 2]), torch.tensor([True, True])
    # 1.5 x 0.97 = 1.455: 1.45 stays inside, and 1.4 too: both kept
    assert kept_inside(old, rows, torch.tensor([0.97, 1.4]), keep, 1.5).tolist() == [True, True]
    # 0.95: 1.45 > 1.425, outside, and nothing was before: the lowering replacement is dropped, the other kept
    assert kept_inside(old, rows, torch.tensor([0.95, 1.4]), keep, 1.5).tolist() == [False, True]
    # already outside before (2.0 > 1.5): replacements are left as they are
    assert kept_inside(torch.tensor([1.0, 1.45, 2.0]), rows, torch.tensor([0.95, 1.4]), keep, 1.5).tolist() == [
        True, True]
    assert kept_inside(old, rows, torch.tensor([0.95, 1.4]), torch.tensor([False, True]), 1.5).tolist() == [
        False, True]


def test_kept_apart_takes_back_only_the_forms_that_come_too_near_another():
    """Three candidates 0.5 apart; forms for rows 1 and 2, row 2's 0.04 from row 0: row 2 keeps its old form, row 1
    takes its new one (before, one form too near another left all ten as they were)."""
    old = torch.zeros(3, 100)
    old[1], old[2] = 0.5, 1.0
    proposed = old.clone()
    proposed[1] = 0.6
    proposed[2] = 0.04
    rows, keep = torch.tensor([1, 2]), torch.tensor([True, True])
    assert kept_apart(old, proposed, rows, keep, 0.1).tolist() == [True, False]
    assert kept_apart(old, proposed, rows, keep, 0.03).tolist() == [True, True]
    # a pair of forms too near each other: the later row goes back, and then row 1's form is far enough
    proposed[2] = 0.62
    assert kept_apart(old, proposed, rows, keep, 0.1).tolist() == [True, False]
    assert kept_apart(old, proposed, rows, torch.tensor([False, False]), 0.1).tolist() == [False, False]


def test_a_candidate_on_the_targets_pitch_keeps_its_form_where_the_new_one_reads_off_it(patches, monkeypatch):
    """Forms that sound the same by the distances but that the pitch tracker reads an octave off are not kept."""
    params = patches[:3]
    mss = torch.tensor([1.0, 1.1, 1.2])

    def fake_scores(values: torch.Tensor) -> Scores:
        n = len(values)
        return Scores(values, values, torch.zeros(n, 8), torch.zeros(n, 3))

    key = PARAM_INDEX["amp_env_attack"]
    monkeypatch.setattr(spread_module, "score", lambda rows, target, render_path="auto": fake_scores(
        mss[[int((params[:, key] == row[key]).nonzero()[0, 0]) for row in rows]]))
    checked = PitchCheck(220.0, torch.full((3,), 220.0), torch.ones(3, dtype=torch.bool))
    before = Candidates(params, fake_scores(mss), torch.arange(3), True, params[0], checked)
    monkeypatch.setattr(spread_module, "candidate_pitch", lambda audio: torch.full((len(audio),), 440.0))
    assert spread_out(before, None, SamplingConfig(spread=4)) is before
    monkeypatch.setattr(spread_module, "candidate_pitch", lambda audio: torch.full((len(audio),), 221.0))
    after = spread_out(before, None, SamplingConfig(spread=4))
    assert not torch.equal(after.params, before.params) and bool(after.pitch.agrees.all())
