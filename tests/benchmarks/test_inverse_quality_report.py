"""The inverse benchmark's method registry, per-target evaluation, resumable records, aggregation and issue 13's
verdicts (on hand-made records: nothing here runs the benchmark)."""

import json

import pytest
import torch

import benchmarks.inverse_quality as iq
from inverse.target import Target
from synth.pitch import PitchEstimate
from synth.prior import draw
from synth.voice import render


def test_the_registry_holds_the_benchmarks_methods_and_the_cli_chooses_among_them(tmp_path):
    assert list(iq.METHODS) == ["latent", "flow", "hybrid", "hybrid_refined", "point", "param_noise", "nearest",
                                "nearest_ranked", "nearest_refined", "prior"]
    assert [name for name, m in iq.METHODS.items() if m.verdict] == ["latent", "flow", "hybrid", "hybrid_refined"]
    base = ["--train", "a.h5", "--targets", "b.h5"]
    everyday = [m for m in iq.METHODS if m != "nearest_refined"]  # the slow experiment only when asked for
    assert iq.parse_args(base).methods == [m for m in everyday if m != "flow"]  # flow only with --flow
    assert iq.parse_args([*base, "--flow", "f"]).methods == everyday
    assert iq.parse_args([*base, "--methods", "nearest", "latent", "nearest"]).methods == ["nearest", "latent"]
    with pytest.raises(SystemExit):
        iq.parse_args([*base, "--methods", "flow"])
    with pytest.raises(SystemExit):  # more samples than the pool holds
        iq.parse_args([*base, "--samples", "20", "--pool", "8"])


def _fake_pitch(f0_by_row):
    """A stand-in for the (slow) CREPE tracker: the given f0 per row, clear wherever there is one."""
    def estimate(audio):
        f0 = torch.tensor(f0_by_row(audio), dtype=torch.float32)
        return PitchEstimate(f0, torch.ones(len(f0)), torch.zeros(len(f0)), ~torch.isnan(f0))
    return estimate


def test_a_method_is_one_function_and_is_scored_and_judged_like_the_others(monkeypatch):
    monkeypatch.setattr(iq, "METHODS", dict(iq.METHODS))
    truth = draw(5, 0, 1, prior="2")[0]

    @iq.method("oracle", "the truth and three perturbations (a check, not a method)", verdict=True)
    def oracle(context, target, seen_truth):
        noise = 0.2 * torch.randn(3, 100, generator=torch.Generator().manual_seed(0))
        return torch.cat([seen_truth[None], (seen_truth + noise).clamp(0, 1)])

    assert "oracle" in iq.METHODS and iq.METHODS["oracle"].verdict
    target = Target.from_audio(render(truth[None])[0])
    context = iq.Context(None, None, prior="2").for_target(4, iq.SamplingConfig(pool=4, samples=2, seed=10))
    assert context.config.seed == 14 and context.index == 4
    # Target pitch 440 Hz; the oracle's best candidate (the truth) reads 440, prior's best an octave up; of all
    # four returned (oracle's two, then prior's two), the oracle's both and prior's second read 440.
    calls = []
    readings = {1: [440.0], 2: [440.0, 880.0], 4: [440.0, 440.0, 880.0, 440.0]}
    monkeypatch.setattr(iq, "estimate_pitch", _fake_pitch(lambda audio: calls.append(len(audio))
                                                          or readings[len(audio)]))
    record = iq.evaluate_target(context, ["oracle", "prior"], target, truth, judge_pitch=True)
    oracle_m, prior_m = record["methods"]["oracle"], record["methods"]["prior"]
    assert oracle_m["candidates"] == 2 and prior_m["candidates"] == 2  # 4 proposed, cut to the 2 best distinct
    assert oracle_m["best_mss"] < 1e-4 and oracle_m["best_sym_param_error"] < 1e-6
    assert prior_m["best_mss"] > 10 * max(oracle_m["best_mss"], 1e-3)
    assert 0 < oracle_m["within_1.5x_best_mss"] <= 1 and oracle_m["time_s"] > 0
    assert calls == [1, 2, 4] and record["target_pitch"]["clear"] and record["target_pitch"]["f0_hz"] == 440.0
    assert oracle_m["pitch"] == {"f0_hz": 440.0, "cents": 0.0, "within": True, "octave_error": False}
    assert prior_m["pitch"]["octave_error"] and not prior_m["pitch"]["within"]
    assert oracle_m["pitch_all"] == {"within": 2, "candidates": 2} and prior_m["pitch_all"]["within"] == 1
    # A target already judged unclear: no tracking at all, and no candidate pitch.
    calls.clear()
    unclear = {"f0_hz": None, "clear": False, "clarity": 0.1, "spread_cents": None}
    record = iq.evaluate_target(context, ["prior"], target, truth, judge_pitch=True, target_pitch=unclear)
    assert calls == [] and record["target_pitch"] == unclear and "pitch" not in record["methods"]["prior"]
    with pytest.raises(ValueError, match=r"\(P, 100\)"):
        iq.returned(torch.zeros(3, 7), target, context.config, render_path="eager")


def _metrics(best_mss, diversity=0.1, within=1.0, **extra):
    return {"best_match": best_mss, "median_match": best_mss, "best_mss": best_mss, "median_mss": 1.2 * best_mss,
            "best_db": 10 * best_mss, "median_db": 12 * best_mss, "diversity": diversity,
            "within_1.5x_best_mss": within, "candidates": 10, "time_s": 1.0, **extra}


def _pitch(within, octave=False):
    return {"f0_hz": 440.0, "cents": 0.0 if within else 1200.0, "within": within, "octave_error": octave}


CLEAR = {"f0_hz": 440.0, "clear": True, "clarity": 1.0, "spread_cents": 5.0}
UNCLEAR = {"f0_hz": None, "clear": False, "clarity": 0.1, "spread_cents": None}


def _records():
    """In-domain: latent 50 % below nearest, pitch right on both clear targets, more diverse, all within 1.5x.
    sox: latent worse than nearest, pitch an octave off; fluidsynth better; espeak-ng: unclear pitch."""
    return [
        {"group": "in_domain", "name": "row0", "target_pitch": CLEAR,
         "methods": {"latent": _metrics(0.5, 0.2, pitch=_pitch(True)), "nearest": _metrics(1.0, pitch=_pitch(False))}},
        {"group": "in_domain", "name": "row1", "target_pitch": CLEAR,
         "methods": {"latent": _metrics(0.5, 0.2, pitch=_pitch(True)), "nearest": _metrics(1.0, pitch=_pitch(True))}},
        {"group": "in_domain", "name": "row2",  # pitch not tracked (beyond --pitch-targets)
         "methods": {"latent": _metrics(0.5, 0.2), "nearest": _metrics(1.0)}},
        {"group": "sox", "name": "sox_sine_A2", "target_pitch": CLEAR,
         "methods": {"latent": _metrics(1.2, 0.05, 0.9, pitch=_pitch(False, octave=True)),
                     "nearest": _metrics(1.0, pitch=_pitch(True))}},
        {"group": "fluidsynth", "name": "fluidsynth_gm000_n45", "target_pitch": CLEAR,
         "methods": {"latent": _metrics(0.8, 0.05, pitch=_pitch(True)), "nearest": _metrics(1.0, pitch=_pitch(True))}},
        {"group": "espeak-ng", "name": "espeak_en_00", "target_pitch": UNCLEAR,
         "methods": {"latent": _metrics(0.9, 0.05), "nearest": _metrics(1.0)}},
    ]


def test_aggregation_counts_pitch_only_on_clear_tracked_targets():
    table = iq.aggregate(_records(), ("in_domain",), ["latent", "nearest"])
    assert table["targets"] == 3 and table["pitch_tracked"] == 2 and table["pitch_clear"] == 2
    latent, nearest = table["methods"]["latent"], table["methods"]["nearest"]
    assert latent["best_mss"]["mean"] == pytest.approx(0.5) and latent["beats_baseline_share"] == 1.0
    assert latent["pitch"] == {"judged": 2, "within": 2, "octave_errors": 0, "share": 1.0}
    assert nearest["pitch"] == {"judged": 2, "within": 1, "octave_errors": 0, "share": 0.5}
    assert "beats_baseline_share" not in nearest
    ood = iq.aggregate(_records(), iq.OUT_OF_DOMAIN, ["latent", "nearest"])
    assert ood["targets"] == 3 and ood["pitch_clear"] == 2
    assert ood["methods"]["latent"]["pitch"] == {"judged": 2, "within": 1, "octave_errors": 1, "share": 0.5}
    assert ood["methods"]["latent"]["beats_baseline_share"] == pytest.approx(2 / 3)


def test_verdicts_say_met_and_not_met_honestly():
    records, names = _records(), ["latent", "nearest"]
    tables = {g: iq.aggregate(records, (g,), names) for g in iq.GROUPS}
    tables["out_of_domain"] = iq.aggregate(records, iq.OUT_OF_DOMAIN, names)
    found = iq.verdicts(tables, ["latent"])
    assert [v.target.split(":")[0] for v in found] == ["in-domain", "sox", "fluidsynth", "espeak-ng", "in-domain",
                                                       "out-of-domain", "in-domain", "in-domain", "out-of-domain",
                                                       "out-of-domain"]
    assert "pitch" in found[4].target and "diversity" in found[6].target and "1.5x" in found[7].target
    # MSS: -50 % in-domain, worse on sox, better on fluidsynth and espeak-ng; pitch 2/2 in-domain, 1/2 outside
    # (1 octave error); diversity and the 1.5x share fall short outside the domain.
    assert [v.met["latent"] for v in found] == [True, False, True, True, True, False, True, True, False, False]
    assert found[5].values["latent"] == "50 % (1/2; 95 % interval 9-91 %; 1 octave errors)"
    assert found[5].baseline == "100 % of 2"
    assert found[9].values["latent"] == "96.7 % of candidates"
    # 30 % is the bar in-domain: 25 % lower is not enough.
    for record in records:
        if record["group"] == "in_domain":
            record["methods"]["latent"]["best_mss"] = 0.75
    tables["in_domain"] = iq.aggregate(records, ("in_domain",), names)
    assert iq.verdicts(tables, ["latent"])[0].met["latent"] is False
    # Compared on the targets both ran: a contender missing from row0 (a resumed run) is judged on row1 and row2,
    # where nearest is 2.0, not on nearest's mean over all three (1.67).
    records[0]["methods"]["latent"]["best_mss"] = 0.1
    records[1]["methods"]["nearest"]["best_mss"] = records[2]["methods"]["nearest"]["best_mss"] = 2.0
    del records[0]["methods"]["latent"]
    tables["in_domain"] = iq.aggregate(records, ("in_domain",), names)
    first = iq.verdicts(tables, ["latent"])[0]
    assert first.met["latent"] is True and first.baseline == "1.667"
    assert first.values["latent"] == "0.750 (-62 %); 95 % interval -62 .. -62 %; nearest 2.000 on these 2 targets"
    # Without the baseline nothing that compares with it is judged.
    only_latent = {g: iq.aggregate(records, (g,), ["latent"]) for g in (*iq.GROUPS, "out_of_domain")}
    only_latent["out_of_domain"] = iq.aggregate(records, iq.OUT_OF_DOMAIN, ["latent"])
    judged = iq.verdicts(only_latent, ["latent"])
    assert judged[0].met["latent"] is None and judged[0].baseline == "-"
    assert [iq.verdict_word(x) for x in (True, False, None)] == ["met", "**not met**", "not judged"]


def test_intervals_of_the_verdicts_relative_change_and_shares():
    # A constant ratio is its own interval whatever the resampling; a noisy one brackets the observed change.
    assert iq.change_interval([0.8, 1.6, 2.4], [1.0, 2.0, 3.0]) == pytest.approx((-0.2, -0.2))
    generator = torch.Generator().manual_seed(0)
    base = torch.rand(200, generator=generator) + 0.5
    ours = base * (0.8 + 0.2 * torch.rand(200, generator=generator))
    low, high = iq.change_interval(ours.tolist(), base.tolist())
    observed = float(ours.mean() / base.mean() - 1)
    assert low < observed < high and high - low < 0.05
    assert iq.change_interval(ours.tolist(), base.tolist()) == (low, high)  # deterministic
    # Wilson score intervals as statsmodels' proportion_confint(method="wilson") gives them.
    assert iq.share_interval(9, 10) == pytest.approx((0.5958, 0.9821), abs=1e-4)
    assert iq.share_interval(21, 24) == pytest.approx((0.6900, 0.9566), abs=1e-4)
    assert iq.share_interval(0, 5)[0] == 0.0 and iq.share_interval(5, 5)[1] == 1.0
    assert iq.share_interval(0, 0) == (0.0, 1.0)


def test_markdown_reports_groups_pitch_and_verdicts():
    records, names = _records(), ["latent", "nearest"]
    groups = {g: iq.aggregate(records, (g,), names) for g in iq.GROUPS}
    tables = {**groups, "out_of_domain": iq.aggregate(records, iq.OUT_OF_DOMAIN, names)}
    results = {"command": "python benchmarks/inverse_quality.py --n 3", "model": "m", "train": "t.h5",
               "train_prior": "2", "train_is_models": False, "train_fingerprint": "aa", "model_train_fingerprint": "bb",
               "nearest_rows": 24, "pca_components": 4, "pca_explained": 0.9, "samples": 10, "pool": 64, "expand": 3,
               "render": "eager", "methods": names, "pitch_targets": 200, "missing_tools": [],
               "group_titles": {g: g for g in iq.GROUPS}, "groups": groups,
               "verdicts": [v.__dict__ for v in iq.verdicts(tables, ["latent"])], "resumed": False,
               "machine": {"cpu_model": "cpu", "cpus": 2, "torch": "2.11.0", "torch_threads": 2},
               "load_average": {"start": [1.0, 1.0, 1.0], "end": [2.0, 2.0, 2.0]}, "wall_s": 60.0}
    text = iq.markdown(results)
    assert "Command: `python benchmarks/inverse_quality.py --n 3`" in text
    assert "**not the model's training set**" in text and "clear pitch" in text and "interquartile" in text
    online = {"train": {"online": True, "prior": "2", "seed": 12}, "init": {"model_data": {"train": {"seed": 11}}}}
    assert iq.nearest_sentence({**results, "model_data": online}).startswith(
        "Training set `t.h5` (prior 2): the model was trained on rows rendered on the fly (prior 2, seeds 12, 11), "
        "not on a file.")
    assert "| latent | 10 | 0.500 (0.500) |" in text and "100 % (2/2)" in text and "50 % (1/2)" in text
    assert "symmetric param error" in text and "3 targets; pitch tracked on 2, clear on 2." in text
    # Relative changes with their 95 % bootstrap interval over targets (one target in sox: a single point).
    assert ("| in-domain: best-of-K MSS at least 30 % below nearest's | 1.000 | 0.500 (-50 %); 95 % interval "
            "-50 .. -50 % | met |") in text
    assert ("| sox: best-of-K MSS below nearest's | 1.000 | 1.200 (+20 %); 95 % interval +20 .. +20 % "
            "| **not met** |") in text
    assert "[1.0, 1.0, 1.0] at the start, [2.0, 2.0, 2.0] at the end" in text
    assert "Records written by these invocations" not in text
    runs = [{"command": f"python b{k}", "started": "2026-11-29", "load_average": [1.0, 1.0, 1.0]} for k in (1, 2)]
    runs[1]["commit"] = "abc1234"  # invocations before commits were recorded have none
    text = iq.markdown({**results, "resumed": True, "invocations": runs})
    assert "(this invocation; resumed records kept)" in text and "`python b1`" in text and "`python b2`" in text
    assert "commit not recorded, load" in text and "commit abc1234, load" in text


def test_records_resume_only_with_the_same_settings_and_merge_added_methods(tmp_path):
    partial = tmp_path / "inverse_quality.partial.jsonl"
    first, second = {"command": "python a"}, {"command": "python a --resume"}
    assert iq.open_records(partial, {"seed": 0}, True, first) == ([], [first])  # nothing yet: a fresh file
    lines = [{"group": "sox", "name": "a", "target_pitch": CLEAR, "methods": {"latent": {"best_mss": 1.0}}},
             {"group": "sox", "name": "b", "methods": {"latent": {"best_mss": 2.0}}},
             {"group": "sox", "name": "a", "methods": {"flow": {"best_mss": 0.5}}}]
    with partial.open("a") as handle:
        handle.writelines(json.dumps(line) + "\n" for line in lines)
    records, invocations = iq.open_records(partial, {"seed": 0}, True, second)
    assert [(r["name"], sorted(r["methods"])) for r in records] == [("a", ["flow", "latent"]), ("b", ["latent"])]
    assert records[0]["target_pitch"] == CLEAR and invocations == [first, second]
    assert iq.open_records(partial, {"seed": 0}, True, first)[1] == [first, second, first]
    with pytest.raises(SystemExit, match="other settings"):
        iq.open_records(partial, {"seed": 1}, True, first)
    assert iq.open_records(partial, {"seed": 1}, False, first) == ([], [first])
    assert partial.read_text().splitlines() == [json.dumps({"settings": {"seed": 1}}),
                                                json.dumps({"invocation": first})]


def test_the_two_tracker_rule_judges_only_targets_both_trackers_hear_at_one_pitch():
    clear = {"f0_hz": 220.0, "clear": True, "clarity": 0.9, "spread_cents": 5.0}
    assert iq.with_pyin_reading(clear, 221.0)["trackers_agree"]
    assert not iq.with_pyin_reading(clear, 110.0)["trackers_agree"]  # pYIN an octave below: not one clear pitch
    assert not iq.with_pyin_reading(clear, float("nan"))["trackers_agree"]
    assert iq.with_pyin_reading(clear, float("nan"))["pyin_f0_hz"] is None
    records = [{"group": "in_domain", "name": f"row{k}", "target_pitch": iq.with_pyin_reading(clear, hz),
                "methods": {"m": {"pitch": _pitch(ok), "pitch_pyin": _pitch(ok)}}}
               for k, (hz, ok) in enumerate([(220.0, True), (110.0, False), (219.0, False)])]
    assert iq.pitch_summary(records, "m", "pitch_pyin")["judged"] == 3
    assert iq.pitch_summary(records, "m", "pitch_pyin", agreed_only=True) == {
        "judged": 2, "within": 1, "octave_errors": 0, "share": 0.5}


def test_keep_unpitched_from_keeps_only_the_targets_without_a_clear_pitch(tmp_path):
    settings = {"model": "m", "targets": "t"}
    lines = [{"settings": settings}, {"invocation": {"command": "first"}},
             {"group": "in_domain", "name": "row0", "methods": {"a": {}}, "target_pitch": {"clear": False}},
             {"group": "in_domain", "name": "row1", "methods": {"a": {}}, "target_pitch": {"clear": True}},
             {"group": "in_domain", "name": "row2", "methods": {"a": {}}},  # pitch not tracked: re-run
             {"group": "sox", "name": "n0", "methods": {"b": {}}, "target_pitch": {"clear": False}}]
    source = tmp_path / "old.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    partial = tmp_path / "new.jsonl"
    assert iq.seed_unpitched(partial, source, settings) == 2
    kept = [json.loads(line) for line in partial.read_text().splitlines()]
    assert kept == [lines[0], lines[1], lines[2], lines[5]]
    with pytest.raises(SystemExit, match="other settings"):
        iq.seed_unpitched(partial, source, {"model": "other"})
    # a setting that acts only on pitched targets may differ; the new run's settings head the records
    pitch_only = {**settings, "sampling": {"pitch_fill": True}}
    assert iq.seed_unpitched(partial, source, pitch_only) == 2
    assert json.loads(partial.read_text().splitlines()[0]) == {"settings": pitch_only}


def test_resume_refuses_kept_hybrid_records_that_ran_with_other_options(tmp_path):
    hybrid = {"index": "i", "retrieved": 64, "refine_steps": 20, "refine_rows": 16, "refine_lr": 0.01,
              "pitch_step": 0.1, "retune": 1, "fine_pitch": 0, "index_data": {"rows": 3}, "flow": "f"}
    options = iq.method_options(["hybrid_refined", "nearest"], hybrid)
    assert list(options) == ["hybrid_refined"] and "flow" not in options["hybrid_refined"]  # its digest: settings
    path_free = iq.method_options(["hybrid"], {**hybrid, "index_data": {"path": "x.h5", "rows": 3}})
    assert path_free["hybrid"]["index_data"] == {"rows": 3}  # the same rows from another checkout's path
    partial = tmp_path / "inverse_quality.partial.jsonl"
    iq.open_records(partial, {"seed": 0}, True, {"command": "a"}, options)
    lines = [{"group": "in_domain", "name": "row0", "methods": {"hybrid_refined": {"best_mss": 1.0}},
              "options": options},
             {"group": "in_domain", "name": "row1", "methods": {"nearest": {"best_mss": 2.0}}},  # no options: kept
             {"group": "in_domain", "name": "row2", "methods": {"hybrid_refined": {"best_mss": 1.5}}}]  # older line
    with partial.open("a") as handle:
        handle.writelines(json.dumps(line) + "\n" for line in lines)
    records, _ = iq.open_records(partial, {"seed": 0}, True, {"command": "b"}, options)
    assert records[0]["options"] == options and "options" not in records[1]
    other = iq.method_options(["hybrid_refined"], {**hybrid, "pitch_step": 1.0})
    before = partial.read_text()
    with pytest.raises(SystemExit, match=r"hybrid_refined ran with another --pitch-step \(first: target row0; 1 "):
        iq.open_records(partial, {"seed": 0}, True, {"command": "c"}, other)
    assert partial.read_text() == before  # nothing appended by a refused resume
    moved = iq.method_options(["hybrid_refined"], {**hybrid, "index_data": {"rows": 4}})
    with pytest.raises(SystemExit, match=r"another --index \(its training rows\)"):
        iq.open_records(partial, {"seed": 0}, True, {"command": "c"}, moved)
    records, _ = iq.open_records(partial, {"seed": 0}, True, {"command": "d"}, iq.method_options(["nearest"], hybrid))
    assert len(records) == 3  # a run of other methods keeps them all
