"""Latent sampling, the Predictor API and `inverse predict` (tiny untrained model: structure, ranking,
diversity and determinism do not depend on training)."""

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

import inverse.refine
from inverse import checkpoint
from inverse.cli import main
from inverse.figures import candidate_label
from inverse.listening_page import listening_page
from inverse.model import InverseModel
from inverse.predict import Prediction, Predictor
from inverse.refine import RefineConfig
from inverse.sampling import SamplingConfig, sample, select_diverse, select_spread
from inverse.target import Target, score
from synth import render
from synth.audio_io import write_wav
from synth.errors import InputError
from synth.image_io import read_png, write_png
from synth.prior import draw
from synth.spectrogram import quantize, spectrogram
from synth.symmetry import permute_slots


@pytest.fixture(scope="module")
def model(tiny):
    torch.manual_seed(0)
    m = InverseModel(tiny).eval()
    m.latent_scale.fill_(3.0)  # untrained latents barely move the head; spread them out
    return m


@pytest.fixture(scope="module")
def target():
    return spectrogram(render(draw(99, 0, 1)))[0]


def test_select_diverse_skips_near_duplicates():
    params = torch.tensor([[0.0] * 100, [0.01] * 100, [0.5] * 100, [1.0] * 100])
    chosen, diverse = select_diverse(params, torch.tensor([1.0, 1.1, 2.0, 3.0]), 3, 0.05)
    assert chosen == [0, 2, 3] and diverse
    chosen, diverse = select_diverse(params, torch.tensor([1.0, 1.1, 2.0, 3.0]), 3, 0.9)
    assert chosen[0] == 0 and not diverse and len(set(chosen)) == 3


def test_select_spread_keeps_close_sounds_and_spreads_them():
    #            best match  best MSS   near dup   far        too far in sound (MSS > 1.5 x 1.0)
    params = torch.tensor([[0.0] * 100, [0.2] * 100, [0.01] * 100, [0.9] * 100, [0.5] * 100])
    match = torch.tensor([1.0, 1.2, 1.05, 1.4, 1.1])
    mss = torch.tensor([1.1, 1.0, 1.1, 1.4, 1.6])
    chosen, diverse = select_spread(params, match, mss, 3, within=1.5, min_distance=0.1)
    assert chosen == [0, 1, 3] and diverse  # best match, best MSS, then the farthest eligible; ranked by match
    chosen, diverse = select_spread(params, match, mss, 5, within=1.5, min_distance=0.1)
    assert chosen == [0, 2, 4, 1, 3] and not diverse  # only 4 eligible: the ineligible 4th fills the last place
    chosen, diverse = select_spread(params, match, mss, 4, within=1.5, min_distance=0.1)
    assert sorted(chosen) == [0, 1, 2, 3] and not diverse  # the near duplicate is eligible but too close
    with pytest.raises(ValueError, match="leaves no row"):  # every row within 1.5x excluded: a clear error
        select_spread(params, match, mss, 3, within=1.5, min_distance=0.1, excluded=mss <= 1.5)


def test_select_spread_fills_within_the_bound_before_outside_it():
    """Too few eligible rows: an excluded row within 1.5x the best MSS (the pitch check's, off the target's pitch)
    fills a place before a better-matching row outside the bound, and excluded rows outside it come last."""
    params = torch.arange(5.0)[:, None].expand(5, 100) / 5
    match = torch.tensor([1.0, 1.2, 1.1, 1.3, 1.05])
    mss = torch.tensor([1.0, 1.2, 1.6, 1.4, 2.0])  # rows 2 and 4 outside 1.5x
    excluded = torch.tensor([False, True, False, False, True])
    chosen, diverse = select_spread(params, match, mss, 3, within=1.5, min_distance=0.0, excluded=excluded)
    assert chosen == [0, 1, 3] and not diverse  # row 1 (excluded, inside) rather than row 2 (outside)
    assert float(mss[chosen].max()) <= 1.5 * float(mss.min())
    chosen, _ = select_spread(params, match, mss, 4, within=1.5, min_distance=0.0, excluded=excluded)
    assert chosen == [0, 2, 1, 3]  # then the rows outside, the excluded among them last: row 4 not yet
    chosen, _ = select_spread(params, match, mss, 5, within=1.5, min_distance=0.0, excluded=excluded)
    assert sorted(chosen) == [0, 1, 2, 3, 4]



def test_match_within_is_validated():
    for bad in (0.5, -1.0):
        with pytest.raises(ValueError, match="match_within"):
            SamplingConfig(match_within=bad).validate()
    SamplingConfig(match_within=0.0).validate()  # no bound


def test_candidates_are_ranked_scored_and_different(model, target):
    config = SamplingConfig(pool=12, samples=4, sigma=1.0, min_distance=0.02, seed=1)
    found = sample(model, target, config)
    assert found.params.shape == (4, 100) and found.audio.shape == (4, 65408)
    assert torch.all(found.match[1:] >= found.match[:-1])
    again = score(found.params[:1], target)
    assert torch.allclose(again.match, found.match[:1], atol=1e-5)
    assert torch.allclose(again.distance_db, found.distance_db[:1], atol=1e-4)
    if found.diverse:
        for i in range(4):
            for j in range(i):
                assert float((found.params[i] - found.params[j]).abs().mean()) >= 0.02


def test_same_seed_same_candidates(model, target):
    config = SamplingConfig(pool=8, samples=3, seed=5, expand=2)
    a, b = sample(model, target, config), sample(model, target, config)
    assert torch.equal(a.params, b.params) and torch.equal(a.match, b.match)
    c = sample(model, target, SamplingConfig(pool=8, samples=3, seed=6, expand=2))
    assert not torch.equal(a.params, c.params)


def test_predictor_writes_every_output(model, target, tmp_path, monkeypatch):
    png = tmp_path / "target.png"
    write_png(png, quantize(target).numpy())
    stages = []
    prediction = Predictor(model).predict(png, samples=3, pool=6, expand=1, refine=RefineConfig(steps=2, retune=0),
                                          progress=lambda fraction, stage: stages.append((fraction, stage)))
    words = [stage.split()[0].strip(",") for _, stage in stages]
    # refinement's stage is reported as it starts and again after each of its 2 + 1 evaluations
    assert words == ["reading", "sampling"] + ["refining"] * 4 + ["adding", "choosing"]
    fractions = [fraction for fraction, _ in stages]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] < 1
    assert len(set(fractions)) == len(fractions)
    assert "(gradient, 2 steps)" in stages[2][1] and stages[-1][1].startswith("choosing 3 of ")
    assert "rank" in prediction.table()
    # the folder held an earlier answer of 5: its 4th and 5th are removed, files that are not an answer's kept
    (tmp_path / "out").mkdir()
    earlier = [tmp_path / "out" / f"rank{k:02d}.{suffix}" for k in (3, 4, 5) for suffix in ("patch.json", "wav", "png")]
    earlier.append(tmp_path / "out" / "melody.mid")  # an earlier answer's melody: this one has none
    kept = [tmp_path / "out" / name for name in ("rank04.txt", "notes.txt", "rank99.wav.bak")]
    for path in earlier + kept:
        path.write_text("earlier")
    (tmp_path / "out" / "candidates.json").write_text("earlier")
    # interrupted while writing the candidates' files: no candidates.json claims an answer the folder does not hold
    with monkeypatch.context() as patched:
        patched.setattr("inverse.predict.write_wav", lambda *args, **kwargs: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            prediction.write(tmp_path / "out")
    assert not (tmp_path / "out" / "candidates.json").exists()
    files = prediction.write(tmp_path / "out")
    assert all(f.is_file() for f in files) and all(f.read_text() == "earlier" for f in kept)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([f.name for f in files + kept])
    data = json.loads((tmp_path / "out" / "candidates.json").read_text())
    assert [c["rank"] for c in data["candidates"]] == [1, 2, 3]
    assert len(data["candidates"][0]["normalized"]) == 100 and "filter_cutoff" in data["candidates"][0]["params"]
    assert "pitch_hz" in data["target"] and "pitch:" in prediction.table()  # the pitch check ran (inverse.pitch_check)
    assert [c["form_of"] for c in data["candidates"]] == [None if k is None else k + 1 for k in prediction.form_of]
    # the listening page: the target as matched, then every candidate, each file it names in the folder
    page = Links()
    page.feed((tmp_path / "out" / "index.html").read_text())
    assert page.audio == ["target.wav", "rank01.wav", "rank02.wav", "rank03.wav"]
    assert page.images == ["target.png", "rank01.png", "rank02.png", "rank03.png", "comparison.png"]
    assert page.links == ["rank01.patch.json", "rank02.patch.json", "rank03.patch.json"]
    assert all((tmp_path / "out" / name).is_file() for name in page.audio + page.images + page.links)
    heard, rate = soundfile.read(tmp_path / "out" / "target.wav", dtype="float32")
    assert rate == 16000 and len(heard) == 65408 and np.abs(heard - prediction.target.audio.numpy()).max() < 1e-4
    assert np.array_equal(read_png(tmp_path / "out" / "target.png"), quantize(prediction.target.spectrogram).numpy())
    # a target in the folder itself is not replaced by what the match heard of it
    before = png.read_bytes()
    files = prediction.write(tmp_path)
    assert png.read_bytes() == before and png not in files and (tmp_path / "target.wav") in files
    # every name on the page is escaped
    odd = replace(prediction, target=replace(prediction.target, source="a <b> & 'c'.wav"))
    html = listening_page(odd)
    assert "a &lt;b&gt; &amp; &#x27;c&#x27;.wav" in html and "<b>" not in html


class Links(HTMLParser):
    """The files an HTML page plays (``<audio src>``), shows (``<img src>``) and links (``<a href>``), in order."""

    def __init__(self):
        super().__init__()
        self.audio, self.images, self.links = [], [], []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        {"audio": self.audio, "img": self.images}.get(tag, []).append(found.get("src"))
        if tag == "a":
            self.links.append(found["href"])


def test_progress_lines_on_a_terminal_rewrite_a_stage_in_place(capsys):
    from inverse.cli import _StageLines

    lines = _StageLines(share=0.5)
    for fraction, stage in ((0.0, "reading"), (0.4, "refining"), (0.6, "refining"), (0.8, "choosing")):
        lines(fraction, stage)
    lines.close()
    assert capsys.readouterr().err == ("[  0%] reading ...\n[ 20%] refining ...\r[ 30%] refining ...\n"
                                       "[ 40%] choosing ...\n")


def test_a_candidate_in_another_form_is_named_in_the_table_and_json(model, target):
    prediction = Predictor(model).predict(target, samples=3, pool=6, expand=1, refine=RefineConfig(steps=2, retune=0))
    params = prediction.candidates.params.clone()
    params[1] = draw(0, 0, 1)[0]  # a patch of its own (predict's pitch fill may return forms of the best)
    params[2] = permute_slots(params[0], (1, 0, 2))  # the best one's sound with oscillators 1 and 2 swapped
    prediction = replace(prediction, candidates=replace(prediction.candidates, params=params))
    assert prediction.form_of == [None, None, 0]
    assert "= #1 in another form" in prediction.table().splitlines()[3]  # the header, then ranks 1-3
    assert [c["form_of"] for c in prediction.to_json()["candidates"]] == [None, None, 1]
    assert candidate_label(2, 0.5, "match", prediction.form_of[2]) == "#3: match 0.500 (= #1)"  # comparison.png
    assert candidate_label(1, 0.5) == "#2: match 0.500"


def test_the_table_and_json_say_how_a_short_target_weighs_the_mss(model, target):
    t = torch.arange(65408) / 16000.0
    hit = 0.5 * torch.exp(-t / 0.02) * (t < 0.08) * torch.sin(2 * torch.pi * 440.0 * t)  # sounds in ~2 % of it
    tone = 0.5 * torch.sin(2 * torch.pi * 220.0 * t)  # sounds throughout
    for audio, weighed in ((hit, "(MSS x {:.1f}, per sounding frame of a target that sounds in 2 % of the window"),
                           (tone, "(MSS + spectral shape)")):
        prediction = Predictor(model).predict(Target.from_audio(audio), samples=2, pool=4, expand=1,
                                              refine=RefineConfig(method="none"))  # the weighing, not refinement
        assert weighed.format(prediction.mss_weight) in prediction.table()
        assert prediction.to_json()["target"]["mss_weight"] == pytest.approx(prediction.mss_weight, abs=1e-4)
    assert prediction.mss_weight == 1


def test_predict_validates_its_options(model, target):
    with pytest.raises(InputError, match="pool"):
        Predictor(model).predict(target, samples=10, pool=4)
    with pytest.raises(InputError, match="512"):
        Predictor(model).predict(torch.zeros(10, 10))


@pytest.fixture
def predict_args(model, target, tmp_path):
    """``inverse predict t.png --model m ... --json`` arguments, the tiny model saved as a checkpoint; no pitch
    check, so that the candidates are in match order, and none of the pool's additions (plain, chord and glide
    patches, refitted envelopes: tested on their own) to keep the tests fast."""
    checkpoint.save(model, tmp_path / "m")
    png = tmp_path / "t.png"
    write_png(png, quantize(target).numpy())
    return ["predict", str(png), "--model", str(tmp_path / "m"), "--samples", "2", "--pool", "4", "--retrieved", "4",
            "--expand", "1", "--steps", "2", "--retune", "0", "--no-pitch-check", "--plain", "0", "--chords", "0",
            "--glides", "0", "--refit", "0", "--json"]


def run_inverse(args, capsys) -> tuple[int, str, str]:
    """``inverse ARGS`` in this process (no interpreter start-up): (exit status, stdout, stderr)."""
    capsys.readouterr()
    status = main(args)
    out = capsys.readouterr()
    return status, out.out, out.err


def test_cli_predict_json_and_bad_input(predict_args, tmp_path, capsys):
    # once through the installed entry point in a fresh interpreter, the rest in-process
    done = subprocess.run([sys.executable, "-m", "inverse", *predict_args, "--refine", "none"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [c["rank"] for c in out["candidates"]] == [1, 2]
    assert out["candidates"][0]["match"] <= out["candidates"][1]["match"]  # ranked by the match distance
    assert "pitch_hz" not in out["target"]  # --no-pitch-check
    assert set(out["target"]) >= {"vibrato", "tremolo"}  # looked for (--modulation 2), each None or what was read
    status, quiet, _ = run_inverse([*predict_args, "--modulation", "0", "--refine", "none"], capsys)
    assert status == 0 and "vibrato" not in json.loads(quiet)["target"]  # not looked for

    rgb = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((512, 512, 3), np.uint8)).save(rgb)
    status, _, err = run_inverse(["predict", str(rgb), *predict_args[2:]], capsys)
    assert status == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "grayscale" in err


def test_cli_predict_answers_several_targets_in_one_process(predict_args, tmp_path, capsys):
    wav, bad = tmp_path / "w.wav", tmp_path / "bad.wav"
    write_wav(wav, render(draw(98, 0, 1))[0], 16000)
    bad.write_text("not audio")
    png, options = predict_args[1], predict_args[2:-1] + ["--refine", "none"]  # without --json: the tables
    out = tmp_path / "answers"
    # a missing file is found before any work
    status, _, err = run_inverse(["predict", str(wav), str(tmp_path / "missing.png"), *options, "--out", str(out)],
                                 capsys)
    assert status == 2 and "missing.png" in err and len(err.strip().splitlines()) == 1 and not out.exists()
    # a target that cannot be read fails alone: the others are answered, each into its own folder, in order
    status, tables, err = run_inverse(["predict", png, str(bad), str(wav), *options, "--out", str(out), "--no-figure"],
                                      capsys)
    assert status == 2 and "Traceback" not in err
    assert f"error: {bad}" in err and "2 of 3 targets answered; failed: " in err
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "t", "w"]  # index.html: every answer on a page
    assert tables.count("== ") == 2 and tables.index(f"== {png}") < tables.index("rank") < tables.index(f"== {wav}")
    # each answer is the one a run for that target alone gives
    status, alone, _ = run_inverse(["predict", str(wav), *options, "--json"], capsys)
    assert status == 0 and json.loads(alone) == json.loads((out / "w" / "candidates.json").read_text())
    assert json.loads(alone)["target"]["start_s"] == 0.0  # the render starts at once: read from the file's start
    # --json: one list, a failed target's entry names its error
    status, listed, _ = run_inverse(["predict", str(bad), str(bad), *options, "--json"], capsys)
    assert status == 2 and [sorted(a) for a in json.loads(listed)] == [["error", "source"]] * 2


def test_cli_predict_refines_and_never_gets_worse(predict_args, capsys):
    predict_args = predict_args + ["--expand", "0"]  # fewer rows to refine; expansion is tested elsewhere
    runs = {}
    renders = {}
    # --render eager keeps every stage on the eager path (each stage's path is recorded); the fast path is the
    # default of the other runs
    for extra in (["--refine", "none"], ["--refine", "gradient", "--steps", "1", "--render", "eager"],
                  ["--refine", "cmaes", "--budget", "2"]):
        status, out, err = run_inverse(predict_args + extra, capsys)
        assert status == 0, err
        runs[" ".join(extra)], renders[extra[1]] = json.loads(out)["candidates"], json.loads(out)["render"]
    plain = runs["--refine none"][0]["match"]
    assert renders["gradient"] == {"ranking": "eager", "refinement": "eager"}
    assert renders["cmaes"]["refinement"] != "eager"
    for name, candidates in runs.items():
        assert candidates[0]["match"] <= plain + 1e-4, name
    with pytest.raises(SystemExit) as usage:
        main(predict_args + ["--refine", "magic"])
    assert usage.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_cli_predict_ctrl_c_finishes_the_answer_from_the_steps_so_far(predict_args, tmp_path, capsys, monkeypatch):
    predict_args = predict_args + ["--expand", "0"]
    before = signal.getsignal(signal.SIGINT)
    status, out, err = run_inverse(predict_args + ["--steps", "0"], capsys)
    assert status == 0, err
    unrefined = json.loads(out)
    evaluated = inverse.refine.rendered_match

    def pressed(*args, **kwargs):  # Ctrl-C during the first evaluation of the gradient steps
        os.kill(os.getpid(), signal.SIGINT)
        return evaluated(*args, **kwargs)
    monkeypatch.setattr(inverse.refine, "rendered_match", pressed)
    status, out, err = run_inverse(predict_args, capsys)
    assert status == 130 and "Traceback" not in err and "the answer under way was finished and written" in err
    stopped = json.loads(out)
    assert stopped["refinement"] == {"method": "gradient", "steps": 0, "stopped": True, "planned_steps": 2}
    assert stopped["candidates"] == unrefined["candidates"]  # the answer of --steps 0, bit for bit
    status, table, err = run_inverse([a for a in predict_args if a != "--json"], capsys)
    assert status == 130 and "stopped by Ctrl-C after 0 of 2 gradient steps (--steps 0 gives this answer again)" in (
        table)
    # several targets: the one under way is answered and written, the next one not started
    out_dir = tmp_path / "answers"
    png = predict_args[1]
    status, listed, err = run_inverse(["predict", png, png, *predict_args[2:], "--out", str(out_dir), "--no-figure"],
                                      capsys)
    assert status == 130 and "1 of 2 targets not started" in err
    assert len(json.loads(listed)) == 1 and sorted(p.name for p in out_dir.iterdir()) == ["index.html", "t"]
    assert (out_dir / "t" / "candidates.json").exists()
    assert signal.getsignal(signal.SIGINT) is before  # the usual Ctrl-C again afterwards


def test_cli_predict_time_budget_says_what_ran_and_how_to_repeat_it(predict_args, capsys):
    predict_args = predict_args + ["--expand", "0"]

    def answer(*extra):
        status, out, err = run_inverse(predict_args + list(extra), capsys)
        assert status == 0, err
        return json.loads(out)

    roomy, fixed = answer("--seconds", "100000"), answer()
    assert roomy["refinement"] == {"method": "gradient", "steps": 2, "seconds": 100000.0, "planned_steps": 2,
                                   "pitch_rounds": None, "asked": "gradient", "rows": RefineConfig.rows, "retune": 0}
    assert fixed["refinement"] == {"method": "gradient", "steps": 2}
    assert roomy["candidates"] == fixed["candidates"]
    # a budget under 4 s answers as --quick does; one that the pool alone overruns: no refinement and, on a pitched
    # target, no round of the pitch check: the answer of --quick with as many rounds (--refine given beside it counts)
    spent = answer("--seconds", "0.001", "--refine", "gradient")
    rounds = spent["refinement"]["pitch_rounds"]
    again = ["--quick"] + ([] if rounds is None else ["--pitch-rounds", str(rounds)])
    assert spent["refinement"]["method"] == "none" and spent["refinement"]["asked"] == "gradient"
    assert spent["candidates"] == answer(*again)["candidates"] == answer("--seconds", "3.9", "--refine", "none")[
        "candidates"]
    # with time left, its best row refined: the options named repeat the answer
    refined = answer("--seconds", "3.9", "--steps", "1")
    assert (refined["refinement"]["method"], refined["refinement"]["rows"]) == ("gradient", 1)
    repeat = ["--quick", "--refine", "gradient", "--refine-rows", "1", "--retune", "0", "--steps",
              str(refined["refinement"]["steps"])]
    assert refined["candidates"] == answer(*repeat)["candidates"]
    status, table, err = run_inverse([a for a in predict_args if a != "--json"] + ["--seconds", "0.001", "--refine",
                                                                                   "gradient"], capsys)
    assert status == 0 and f"budget ({' '.join(again)} gives this answer again)" in table
    assert "note: --seconds 0.001 is under the 4 s the default pool may take on 2 CPU cores" in err
    status, _, err = run_inverse(predict_args + ["--seconds", "5", "--refine", "cmaes"], capsys)
    assert status == 2 and "--budget" in err and "Traceback" not in err


def test_the_budget_line_names_the_options_that_repeat_the_answer():
    def line(**refinement) -> str:
        return Prediction(None, None, refinement={"seconds": 8.0, "planned_steps": 20, **refinement}).budget_line()

    stopped = line(method="gradient", steps=7, pitch_rounds=3)
    assert "7 of up to 20 gradient steps" in stopped and "the pitch check stopped after 3 of its rounds" in stopped
    assert stopped.endswith("(--steps 7 --pitch-rounds 3 gives this answer again)")
    assert line(method="gradient", steps=7, pitch_rounds=None).endswith("(--steps 7 gives this answer again)")
    assert line(method="none", steps=None, pitch_rounds=0).endswith("(--refine none --pitch-rounds 0 gives this answer "
                                                                    "again; --quick answers in about a second)")
    # --refine none (--quick's) was asked for, not left by the budget
    assert line(method="none", steps=None, pitch_rounds=None, asked="none") == "refinement: none, as asked"
    # a budget under 4 s answers as --quick does: the options that repeat it start with --quick
    assert line(method="none", steps=None, pitch_rounds=0, asked="none", seconds=2.0) == (
        "refinement: none, a --seconds budget under 4 s answers as --quick does, the pitch check stopped after 0 of "
        "its rounds (--quick --pitch-rounds 0 gives this answer again)")
    assert line(method="gradient", steps=1, pitch_rounds=None, seconds=2.5, rows=1, retune=0).endswith(
        "(--quick --refine gradient --refine-rows 1 --retune 0 --steps 1 gives this answer again)")
    assert line(method="none", steps=None, pitch_rounds=1, asked="none").endswith(
        "the pitch check stopped after 1 of its rounds (--pitch-rounds 1 gives this answer again)")


def test_quick_sets_a_small_pool_and_no_refinement_and_options_beside_it_count():
    from inverse.cli import parse_args
    from inverse.quick import QUICK

    plain, quick = parse_args(["predict", "t.png"]), parse_args(["predict", "t.png", "--quick"])
    assert (plain.pool, plain.refine, quick.refine) == (SamplingConfig.pool, RefineConfig.method, "none")
    assert {name: getattr(quick, name) for name in QUICK} == QUICK and QUICK["pool"] < SamplingConfig.pool
    beside = parse_args(["predict", "t.png", "--pool", "32", "--quick", "--refine", "gradient"])
    assert (beside.pool, beside.retrieved, beside.refine) == (32, QUICK["retrieved"], "gradient")
    assert parse_args(["eval", "--model", "m", "--data", "d.h5"]).pool == 64  # other commands keep theirs
    assert parse_args(["predict", "t.png", "--quick", "--samples", "20"]).pool == 20  # the pool holds the answer
    short, enough = (parse_args(["predict", "t.png", "--seconds", s]) for s in ("3.5", "4"))
    assert {name: getattr(short, name) for name in QUICK} == QUICK  # under 4 s: --quick's pool, its best row refined
    assert (short.refine, short.refine_rows, short.retune, short.steps) == ("gradient", 1, 0, RefineConfig.steps)
    assert (enough.pool, enough.refine, enough.refine_rows) == (SamplingConfig.pool, RefineConfig.method,
                                                                RefineConfig.rows)
    timed = parse_args(["predict", "t.png", "--quick", "--seconds", "8", "--refine-rows", "2"])  # a budget: refined
    assert (timed.pool, timed.refine, timed.refine_rows) == (QUICK["pool"], "gradient", 2)
    with pytest.raises(ValueError, match=r"from a pool of 16 \(--pool: at least --samples\)"):
        SamplingConfig(pool=QUICK["pool"], samples=20).validate()  # --quick --samples 20 says what to add


def test_the_pitch_line_counts_the_candidates_on_the_targets_pitch(model, target):
    from inverse.pitch_check import PitchCheck

    prediction = Predictor(model).predict(target, samples=3, pool=6, expand=1, refine=RefineConfig(method="none"))
    said = {}
    for agrees in ([False] * 3, [True, False, False], [True, True, False], [True] * 3):
        check = PitchCheck(440.0, torch.tensor([440.0 if a else 300.0 for a in agrees]), torch.tensor(agrees))
        shown = replace(prediction, candidates=replace(prediction.candidates, pitch=check))
        said[sum(agrees)] = shown.pitch_line()
        assert f"pitch: {said[sum(agrees)]} ('!'" in shown.table()
    assert said == {0: "the target's pitch is 440.0 Hz; none of the candidates is within 50 cents of it (the closest "
                       "sounds are off it)",
                    1: "the target's pitch is 440.0 Hz; the 1 candidate within 50 cents of it comes first",
                    2: "the target's pitch is 440.0 Hz; the 2 candidates within 50 cents of it come first",
                    3: "the target's pitch is 440.0 Hz; all 3 candidates are within 50 cents of it"}
