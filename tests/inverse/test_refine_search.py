"""Candidate refinement (gradient, CMA-ES) and the search-only baseline: never worse, budgets respected,
candidates distinct, bad input as one line."""

import json
import time
from dataclasses import replace

import pytest
import torch

from inverse.cli import main
from inverse.refine import (
    STAGE_SECONDS,
    RefineConfig,
    gradient_path,
    pool_step_seconds,
    refine_candidates,
    refine_cmaes,
    refine_gradient,
    reserve_steps,
    stage_shares,
    step_profile,
)
from inverse.sampling import SamplingConfig
from inverse.search import SearchConfig, search
from inverse.target import Target, score
from synth.image_io import write_png
from synth.params import CONTINUOUS_INDICES, DISCRETE_INDICES, PARAM_INDEX
from synth.prior import draw
from synth.spectrogram import quantize, spectrogram
from synth.voice import render


@pytest.fixture(scope="module")
def problem():
    """A target and two starting candidates near it (the target's own patch, nudged)."""
    truth = draw(41, 0, 1)
    target = spectrogram(render(truth))[0]
    start = truth.repeat(2, 1)
    start[:, list(CONTINUOUS_INDICES)] = (start[:, list(CONTINUOUS_INDICES)]
                                         + torch.tensor([[0.08], [-0.08]])).clamp(0, 1)
    target = Target.from_spectrogram(target)
    return target, start, score(start, target).match


def test_gradient_refinement_never_worse_and_moves_continuous_parameters_only(problem):
    target, start, before = problem
    with torch.no_grad():  # callers such as benchmarks run without autograd; refinement turns it on itself
        refined, after = refine_gradient(start, target, steps=3, lr=0.02)
    assert torch.all(after <= before)
    assert torch.equal(refined[:, list(DISCRETE_INDICES)], start[:, list(DISCRETE_INDICES)])
    again = score(refined, target).match
    assert torch.allclose(again, after, atol=1e-4), "reported distances are those of the returned params"


def test_the_notes_step_share_holds_the_note_and_leaves_the_rest_of_adam_as_it_was(problem):
    target, start, before = problem
    note = PARAM_INDEX["note_pitch"]
    plain = refine_gradient(start, target, steps=2, lr=0.02)
    assert all(torch.equal(a, b) for a, b in zip(plain, refine_gradient(start, target, steps=2, lr=0.02,
                                                                        pitch_step=1.0))), "1: plain Adam's bytes"
    held, after = refine_gradient(start, target, steps=2, lr=0.02, pitch_step=0.0)
    assert torch.all(after <= before)
    assert torch.equal(held[:, note], start[:, note]), "a share of 0 keeps the note where it started"
    others = [i for i in CONTINUOUS_INDICES if i != note]
    assert not torch.equal(held[:, others], start[:, others]), "the other parameters still move"
    with pytest.raises(ValueError, match="pitch_step"):
        RefineConfig(pitch_step=1.5).validate()


def test_cmaes_refinement_never_worse_and_respects_its_budget(problem, monkeypatch):
    target, start, before = problem
    import inverse.refine as refine_module

    renders = []
    real_score = refine_module.score
    monkeypatch.setattr(refine_module, "score", lambda p, t, **kw: renders.append(p.shape[0]) or real_score(p, t, **kw))
    refined, after = refine_cmaes(start, target, before, budget=20, sigma0=0.05, seed=0)
    assert sum(renders) == 2 * 20 and max(renders) <= 20
    assert torch.all(after <= before)
    assert torch.equal(refined[:, list(DISCRETE_INDICES)], start[:, list(DISCRETE_INDICES)])


def test_refined_candidates_are_ranked_within_tolerance_and_expanded(problem):
    target, start, before = problem
    sampling = SamplingConfig(pool=2, samples=4, min_distance=0.05, expand=1, pitch_check=False, spread=0)  # as chosen
    out = refine_candidates(start, score(start, target), start[0], target,
                            RefineConfig(method="gradient", steps=2, lr=0.02, retune=0), sampling)
    assert out.params.shape == (4, 100) and torch.all(out.match[1:] >= out.match[:-1])
    assert float(out.match[0]) <= float(before.min()) + 1e-6
    assert torch.all(out.mss <= sampling.within * out.mss.min() + 1e-6) or not out.diverse
    # 2 starting points, 2 refined: the other 2 returned are symmetric variants of the best
    assert int(out.pool_index.max()) >= 4
    plain = refine_candidates(start, score(start, target), start[0], target, RefineConfig(method="none"), sampling)
    assert plain.params.shape == (2, 100) and torch.equal(plain.params[0], start[int(torch.argmin(before))])


def test_unrefined_pool_rows_stay_eligible_after_refinement(problem):
    """Only the best row is refined; the other pool row can still be returned (diversity from the whole pool)."""
    target, start, before = problem
    # the other row is far from the target by the match distance: no fill (it would be replaced by a form of the best)
    sampling = SamplingConfig(pool=2, samples=3, expand=0, pitch_check=False, match_within=0.0)
    out = refine_candidates(start, score(start, target), start[0], target,
                            RefineConfig(method="gradient", steps=1, lr=0.02, rows=1, retune=0), sampling)
    assert out.params.shape == (3, 100)  # refined best, its starting point and the unrefined other row
    other = int(torch.argmax(before))
    returned = out.params[out.pool_index == 2]
    assert returned.shape[0] == 1 and torch.equal(returned[0], start[other])


@pytest.mark.parametrize("method", ["random", "cmaes"])
def test_search_respects_the_budget_and_returns_distinct_candidates(problem, method, monkeypatch):
    target, _, _ = problem
    import inverse.search as search_module

    renders = []
    real_score = search_module.score
    monkeypatch.setattr(search_module, "score", lambda p, t, **kw: renders.append(p.shape[0]) or real_score(p, t, **kw))
    found = search(target, SearchConfig(method=method, budget=24, samples=3, batch=8, seed=1))
    assert sum(renders[:-1]) == 24 and renders[-1] == 3  # the budget, then the 3 returned re-rendered
    assert found.params.shape == (3, 100) and torch.all(found.match[1:] >= found.match[:-1])
    again = search(target, SearchConfig(method=method, budget=24, samples=3, batch=8, seed=1))
    assert torch.equal(again.params, found.params), "same seed, same candidates"


@pytest.mark.parametrize("method,first", [("random", 8), ("cmaes", 13)])  # CMA-ES's population for 100 parameters
def test_a_stop_ends_the_search_after_the_batch_under_way(problem, method, first):
    target, _, _ = problem
    config = SearchConfig(method=method, budget=64, samples=3, batch=8, seed=1)
    asked = []
    stopped = search(target, config, stop=lambda: asked.append(1) or True)  # Ctrl-C during the first batch
    short = search(target, replace(config, budget=first))  # what one batch or generation gives
    assert asked == [1] and torch.equal(stopped.params, short.params)


def test_time_budget_stops_early(problem):
    target, _, _ = problem
    found = search(target, SearchConfig(method="random", budget=10_000, samples=2, batch=4, time_budget_s=1e-3))
    assert found.params.shape == (2, 100)  # one batch, then the clock said stop


@pytest.mark.parametrize("argv, expected", [
    (["--budget", "0"], "expected a positive integer"),
    (["--budget", "5", "--samples", "6"], "samples must be between 1 and the budget"),
    (["--budget", "20", "--time-budget", "-1"], "--time-budget: expected a positive finite number, got -1"),
])
def test_search_bad_input_is_one_line(problem, tmp_path, argv, expected, capsys):
    png = tmp_path / "t.png"
    write_png(png, quantize(problem[0].spectrogram).numpy())
    try:
        status = main(["search", str(png), *argv])
    except SystemExit as usage:  # argparse's own errors
        status = usage.code
    err = capsys.readouterr().err
    assert status == 2 and expected in err and "Traceback" not in err


def test_search_cli_prints_ranked_json(problem, tmp_path, capsys):
    png = tmp_path / "t.png"
    write_png(png, quantize(problem[0].spectrogram).numpy())
    status = main(["search", str(png), "--budget", "8", "--samples", "2", "--method", "random", "--json"])
    out = capsys.readouterr()
    assert status == 0, out.err
    candidates = json.loads(out.out)["candidates"]
    assert [c["rank"] for c in candidates] == [1, 2] and candidates[0]["match"] <= candidates[1]["match"]


def test_search_cli_answers_several_targets_each_as_alone(problem, tmp_path, capsys):
    png, bad = tmp_path / "t.png", tmp_path / "bad.png"
    write_png(png, quantize(problem[0].spectrogram).numpy())
    bad.write_text("not an image")
    argv = ["--budget", "8", "--samples", "2", "--method", "random", "--json"]
    status = main(["search", str(png), str(bad), str(png), *argv, "--out", str(tmp_path / "out"), "--no-figure"])
    out = capsys.readouterr()
    answers = json.loads(out.out)
    assert status == 2 and [("error" in a) for a in answers] == [False, True, False] and f"error: {bad}" in out.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.html", "t", "t-2"]  # none for the bad one
    assert main(["search", str(png), *argv]) == 0
    assert json.loads(capsys.readouterr().out) == answers[0] == answers[2]  # same seed, same answer, alone or not


def test_cmaes_refinement_spends_nothing_after_its_deadline(problem, monkeypatch):
    target, start, before = problem
    import time

    import inverse.refine as refine_module

    renders = []
    monkeypatch.setattr(refine_module, "score", lambda p, t, **kw: renders.append(p.shape[0]))
    refined, after = refine_cmaes(start, target, before, budget=50, deadline=time.perf_counter())
    assert renders == [] and torch.equal(refined, start) and torch.equal(after, before)
    refined, after = refine_cmaes(start, target, before, budget=50, stop=lambda: True)  # Ctrl-C before it began
    assert renders == [] and torch.equal(refined, start) and torch.equal(after, before)


def test_progress_shares_follow_the_number_of_steps():
    ten, twenty = stage_shares(10), stage_shares(20)
    assert [round(ten[k], 2) for k in ("retune", "expand", "choose")] == [0.67, 0.76, 0.84]  # STAGE_SECONDS' profile
    assert 0 < ten["retune"] < twenty["retune"] < twenty["expand"] < twenty["choose"] < 1  # longer first stage


def test_the_time_kept_after_the_steps_counts_the_pitch_check_only_where_it_runs():
    config, seconds = RefineConfig(), STAGE_SECONDS
    pitched, unpitched = reserve_steps(config, pitch_check=True), reserve_steps(config, pitch_check=False)
    assert pitched - unpitched == pytest.approx((seconds["choose"] - seconds["tail"]) / seconds["step"])
    assert reserve_steps(RefineConfig(retune=0)) == pytest.approx(pitched - seconds["retune"] / seconds["step"])
    tuned = reserve_steps(RefineConfig(fine_pitch=2))
    assert tuned == pytest.approx(pitched + 2 * seconds["fine_pitch"] / seconds["step"])
    assert reserve_steps(config, swing=True) == pytest.approx(pitched + seconds["swing"] / seconds["step"])
    assert reserve_steps(config, sampling=SamplingConfig()) == pitched  # predict's defaults: the same reserve


def test_few_rows_step_on_the_eager_synth_and_keep_their_reserve_in_seconds():
    assert [gradient_path(path, rows) for path, rows in [("auto", 1), ("fast", 6), ("fast", 7), ("auto", 16),
                                                         ("eager", 1)]] == ["eager", "eager", "fast", "auto", "eager"]
    assert step_profile(RefineConfig.rows) == STAGE_SECONDS["step"] and step_profile(1) < step_profile(6)
    one, sixteen = RefineConfig(rows=1, retune=0), RefineConfig(retune=0)
    # the same seconds kept after the steps, counted in the shorter steps of one row
    assert reserve_steps(one) * step_profile(1) == pytest.approx(reserve_steps(sixteen) * STAGE_SECONDS["step"])
    quick = SamplingConfig(expand=0, spread=0, pitch_rounds=1)  # the quick answer's choice, no symmetric variants
    assert reserve_steps(one, sampling=quick) * step_profile(1) == pytest.approx(
        STAGE_SECONDS["rescore"] + STAGE_SECONDS["choose_quick"])
    assert pool_step_seconds(STAGE_SECONDS["pool"], 1) == pytest.approx(step_profile(1))
    assert pool_step_seconds(STAGE_SECONDS["pool_quick"], 1, size=32) == pytest.approx(step_profile(1))


def test_one_row_refined_on_the_fast_path_is_the_eager_paths_answer(problem):
    target, start, _ = problem
    fast, fast_d = refine_gradient(start[:1], target, steps=1, render_path="fast")
    eager, eager_d = refine_gradient(start[:1], target, steps=1, render_path="eager")
    assert torch.equal(fast, eager) and torch.equal(fast_d, eager_d)


def test_a_deadline_with_a_reserve_stops_where_the_next_step_would_not_fit(problem, monkeypatch, ticking_clock):
    target, start, before = problem
    import inverse.refine as refine_module

    # One clock call when the steps start (0 s) and one after each evaluation k (k + 1 s): a step takes
    # (k + 1) / (k + 0.5) s by then. With a deadline of 3.5 s and no reserve, evaluation 0 (1 + 2 = 3) and 1
    # (2 + 1.33) leave room for another step, evaluation 2 (3 + 1.2) does not: two steps, as steps=2 takes them.
    ticking_clock(refine_module)
    stepped = []
    budgeted = refine_gradient(start, target, steps=10, lr=0.02, deadline=3.5, reserve=0.0, on_step=stepped.append)
    monkeypatch.undo()
    assert stepped == [0, 1, 2]
    fixed = refine_gradient(start, target, steps=2, lr=0.02)
    assert torch.equal(budgeted[0], fixed[0]) and torch.equal(budgeted[1], fixed[1])
    # time for what follows the steps is kept: a reserve of a step's worth stops it one evaluation earlier
    ticking_clock(refine_module)
    stepped.clear()
    refine_gradient(start, target, steps=10, lr=0.02, deadline=3.5, reserve=1.0, on_step=stepped.append)
    assert stepped == [0]


def test_a_time_budget_reports_the_steps_that_give_the_same_answer(problem):
    target, start, before = problem
    sampling = SamplingConfig(pool=2, samples=2, min_distance=0.05, expand=1, pitch_check=False, spread=0)
    config = RefineConfig(method="gradient", steps=2, lr=0.02, retune=0)
    roomy = refine_candidates(start, score(start, target), start[0], target, config, sampling,
                              finish_by=time.perf_counter() + 1e6)
    fixed = refine_candidates(start, score(start, target), start[0], target, config, sampling)
    assert roomy.refined_steps == fixed.refined_steps == 2 and torch.equal(roomy.params, fixed.params)
    spent = refine_candidates(start, score(start, target), start[0], target, config, sampling,
                              finish_by=time.perf_counter() - 1.0)
    again = refine_candidates(start, score(start, target), start[0], target, replace(config, steps=0), sampling)
    assert spent.refined_steps == again.refined_steps == 0 and torch.equal(spent.params, again.params)
    assert refine_candidates(start, score(start, target), start[0], target, replace(config, method="none"),
                             sampling).refined_steps is None
    with pytest.raises(ValueError, match="CMA-ES"):
        refine_candidates(start, score(start, target), start[0], target, replace(config, method="cmaes"), sampling,
                          finish_by=time.perf_counter())
