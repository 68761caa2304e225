"""The Synth tab's patch editing and the Match tab's settings, differences and downloads (no browser)."""

import io
import json
import zipfile
from dataclasses import replace

import numpy as np
import pytest
import soundfile
import torch

from inverse.modulation import Swing
from inverse.predict import Prediction
from inverse.quick import QUICK, quick_refine
from inverse.sampling import Candidates
from inverse.target import Target, score
from synth.errors import InputError
from synth.image_io import write_png
from synth.midi_file import MidiNote, read_midi, write_midi
from synth.params import PARAM_INDEX
from synth.patch import patch_from_dict, save_patch
from synth.symmetry import permute_slots
from webapp import editor
from webapp.matching import (
    AnswerNow,
    MatchResult,
    MatchSettings,
    differences,
    download_link,
    match_status,
    result_page,
    result_zip,
    run_match,
)


def test_sliders_round_trip_and_leave_the_other_parameters_alone():
    params = editor.default_patch()
    edited = editor.apply_sliders(params, editor.slider_values(params))
    names = [s.spec.name for s in editor.SLIDERS]
    for name, index in PARAM_INDEX.items():
        if name in names:  # continuous: 6-decimal physical values; discrete: the same bin
            assert abs(float(edited[index]) - float(params[index])) < 1e-4, name
        else:
            assert float(edited[index]) == float(params[index]), name


def test_slider_edits_change_the_sound_and_bad_values_are_refused():
    params = editor.default_patch()
    values = editor.slider_values(params)
    values[[s.spec.name for s in editor.SLIDERS].index("note_pitch")] = 72.0
    edited = editor.apply_sliders(params, values)
    assert editor.slider_values(edited)[0] == pytest.approx(72.0)
    before, _ = editor.render_patch(params)
    after, spec = editor.render_patch(edited)
    assert before.shape == after.shape == (65408,) and spec.shape == (512, 512)
    assert np.abs(before - after).max() > 1e-3
    values[0] = 200.0
    with pytest.raises(InputError, match=r"note_pitch: 200 MIDI is outside \[24, 96\]"):
        editor.apply_sliders(params, values)
    values[0] = None
    with pytest.raises(InputError, match="note_pitch: expected a number"):
        editor.apply_sliders(params, values)


def test_patch_upload_errors_name_the_file(tmp_path):
    (tmp_path / "mine.patch.json").write_text("{not json")
    with pytest.raises(InputError, match=r"^mine.patch.json: expected a patch JSON file"):
        editor.read_patch(tmp_path / "mine.patch.json")
    save_patch(tmp_path / "good.json", editor.default_patch())
    assert torch.equal(editor.read_patch(tmp_path / "good.json"), editor.default_patch())
    path = editor.write_patch(editor.default_patch(), tmp_path)
    assert torch.equal(patch_from_dict(json.loads(path.read_text())), editor.default_patch())


def test_match_settings_from_the_form():
    assert MatchSettings.from_form(10.0, "none", 3.0) == MatchSettings(10, "none", 3)
    for samples, refine, seed, message in ((0, "none", 0, "candidates: expected a whole number from 1 to 20"),
                                           (21, "none", 0, "from 1 to 20"), (2.5, "none", 0, "whole number"),
                                           (5, "magic", 0, "refinement: expected one of none, gradient, cmaes"),
                                           (5, "none", -1, "seed"), (5, "none", None, "seed")):
        with pytest.raises(InputError, match=message):
            MatchSettings.from_form(samples, refine, seed)


class Capture:
    """A stand-in predictor: records the keyword arguments ``run_match`` passes to ``predict``."""

    def predict(self, target, *args, **kwargs):
        self.kwargs = kwargs
        return "answer"


def tone(folder) -> str:
    """A 1 s 440 Hz sine written to ``folder / tone.wav``; its path."""
    soundfile.write(folder / "tone.wav", 0.5 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 440), 16000)
    return str(folder / "tone.wav")


def test_the_time_budget_field_reaches_predict_and_is_checked(tmp_path):
    assert MatchSettings.from_form(10.0, "gradient", 0.0, 0.0, 6) == MatchSettings(10, "gradient", 0, 0.0, 6)
    assert MatchSettings.from_form(10.0, "gradient", 0.0, 0.0, None).seconds == 0.0  # an emptied box: no budget
    for seconds in (-1.0, float("inf"), True):
        with pytest.raises(InputError, match="time budget: expected a number of seconds of at least 0"):
            MatchSettings.from_form(5, "gradient", 0, 0.0, seconds)
    with pytest.raises(InputError, match="time budget: it plans gradient refinement's steps"):
        MatchSettings.from_form(5, "cmaes", 0, 0.0, 5)
    capture = Capture()
    run_match(capture, tone(tmp_path), MatchSettings(seconds=6.0))
    assert capture.kwargs["seconds"] == 6.0 and "pool" not in capture.kwargs
    run_match(capture, tone(tmp_path), MatchSettings(seconds=2.0))  # too short for the default pool: quick's
    assert {name: capture.kwargs[name] for name in QUICK} == QUICK and capture.kwargs["seconds"] == 2.0
    assert capture.kwargs["refine"] == quick_refine(budget=True)  # its best row refined in what the pool leaves
    assert (capture.kwargs["refine"].method, capture.kwargs["refine"].rows) == ("gradient", 1)
    run_match(capture, tone(tmp_path), MatchSettings())
    assert capture.kwargs["seconds"] is None  # 0: no budget


def test_quick_refinement_is_predict_quick(tmp_path):
    capture = Capture()
    run_match(capture, tone(tmp_path), MatchSettings.from_form(10, "quick", 0))
    assert {name: capture.kwargs[name] for name in QUICK} == QUICK and capture.kwargs["refine"].method == "none"
    run_match(capture, tone(tmp_path), MatchSettings.from_form(20, "quick", 0))
    assert capture.kwargs["pool"] == 20  # the slider's 20 candidates: the pool holds them
    run_match(capture, tone(tmp_path), MatchSettings.from_form(10, "none", 0))
    assert "pool" not in capture.kwargs and capture.kwargs["refine"].method == "none"


def test_silent_upload_is_refused_before_any_prediction(tmp_path):
    soundfile.write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000)

    class NoPredictor:
        def predict(self, *args, **kwargs):
            raise AssertionError("predicted on silence")

    with pytest.raises(InputError, match=r"^quiet.wav: the first 4.088 s are silent"):
        run_match(NoPredictor(), str(tmp_path / "quiet.wav"), MatchSettings())



def test_a_stereo_upload_is_averaged_and_noted(tmp_path):
    tone = 0.5 * np.sin(np.arange(16000) / 16000 * 2 * np.pi * 440)
    soundfile.write(tmp_path / "stereo.wav", np.stack([tone, tone], axis=1), 16000)

    class Capture:
        def predict(self, target, *args, **kwargs):
            self.notes = target.notes
            return "answer"

    capture = Capture()
    assert run_match(capture, str(tmp_path / "stereo.wav"), MatchSettings()).prediction == "answer"
    assert "stereo.wav: downmixed 2 channels to mono (mean of the channels)" in capture.notes


def test_the_noise_gate_box_gates_an_uploads_floor_before_matching_unless_unticked(tmp_path):
    t = np.arange(65408) / 16000
    hiss = np.random.default_rng(0).standard_normal(65408) * 10 ** (-50 / 20) * np.sqrt(0.5)
    soundfile.write(tmp_path / "hiss.wav", (0.3 * np.sin(2 * np.pi * 220 * t) * (t < 0.8) + hiss).astype(np.float32),
                    16000, subtype="FLOAT")
    assert MatchSettings.from_form(10.0, "none", 0.0, 0.0, 0.0, True).gate_noise
    assert MatchSettings.from_form(10.0, "none", 0.0, 0.0, 0.0, None).gate_noise  # the default
    assert not MatchSettings.from_form(10.0, "none", 0.0, 0.0, 0.0, False).gate_noise

    class Capture:
        def predict(self, target, *args, **kwargs):
            self.notes = target.notes
            return "answer"

    capture = Capture()
    run_match(capture, str(tmp_path / "hiss.wav"), MatchSettings())
    assert any(note.startswith("hiss.wav: gated out a steady noise floor at") for note in capture.notes)
    run_match(capture, str(tmp_path / "hiss.wav"), MatchSettings(gate_noise=False))
    assert not any("noise floor" in note for note in capture.notes)


def test_the_start_field_reads_an_upload_from_there_and_is_checked(tmp_path):
    assert MatchSettings.from_form(10.0, "none", 3.0, 1.5) == MatchSettings(10, "none", 3, 1.5)
    assert MatchSettings.from_form(10.0, "none", 3.0, None).start == 0.0  # an emptied box: from the beginning
    for start in (-1.0, float("nan"), True):
        with pytest.raises(InputError, match="start: expected a number of seconds of at least 0"):
            MatchSettings.from_form(5, "none", 0, start)
    t = np.arange(2 * 16000, dtype=np.float32) / 16000
    first, second = 0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 660 * t)
    soundfile.write(tmp_path / "two.wav", np.concatenate([first, second]), 16000, subtype="FLOAT")

    class Capture:
        def predict(self, target, *args, **kwargs):
            self.target = target
            return "answer"

    capture = Capture()
    assert run_match(capture, str(tmp_path / "two.wav"), MatchSettings(start=2.0)).prediction == "answer"
    assert np.allclose(capture.target.audio[:32000].numpy(), second, atol=1e-6)
    assert any("from 2.000 s on" in note for note in capture.target.notes)
    write_png(tmp_path / "s.png", np.full((512, 512), 128, np.uint8))
    with pytest.raises(InputError, match=r"^s.png: a start time applies to audio files"):
        run_match(capture, str(tmp_path / "s.png"), MatchSettings(start=1.0))

@pytest.fixture(scope="module")
def small_result():
    """Three rendered candidates of the example patch family, against the first one's sound."""
    params = editor.default_patch()[None].repeat(3, 1)
    params[1, PARAM_INDEX["filter_cutoff"]] = 0.3
    params[2, PARAM_INDEX["note_pitch"]] = 0.75
    target = Target.from_audio(torch.from_numpy(editor.render_patch(params[0])[0]), "kick.wav")
    scores = score(params, target)
    candidates = Candidates(params, scores, torch.arange(3), True, params[0])
    return MatchResult(Prediction(target, candidates), "kick.wav", 1.25)


def test_answer_now_reaches_predict_and_the_status_says_where_it_ended(small_result, tmp_path):
    now = AnswerNow()
    now.press()
    assert not now.requested()  # no match running: ignored
    now.running = True
    now.press()
    assert now.requested()
    capture = Capture()
    run_match(capture, tone(tmp_path), MatchSettings(), stop=now.requested)
    assert capture.kwargs["stop"]() is True
    assert match_status(small_result) == "3 candidates for kick.wav in 1.2 s"
    stopped = replace(small_result, prediction=replace(small_result.prediction, refinement={
        "method": "gradient", "steps": 7, "stopped": True, "planned_steps": 20}))
    assert match_status(stopped) == "3 candidates for kick.wav in 1.2 s; answered now, after 7 of 20 refinement steps"


def test_differences_are_in_physical_units(small_result):
    params = small_result.prediction.candidates.params
    assert differences(params, 0) == []
    name, best, this = differences(params, 2)[0]
    assert name == "note_pitch" and this == "78 MIDI" and best.endswith("MIDI")
    assert differences(params, 1)[0][0] == "filter_cutoff" and differences(params, 1)[0][2].endswith("Hz")


def test_result_page_has_a_player_and_an_image_per_candidate(small_result):
    page = result_page(small_result)
    assert page.count("<audio ") == 3 and page.count("<img ") == 4  # target + 3
    assert page.count('download="rank0') == 3 and "kick.wav: 3 candidates in 1.2 s" in page
    assert "to the uploaded sound" in page
    assert "swings at" not in page  # nothing read, nothing said


def test_result_page_says_what_swing_was_read(small_result):
    tremolo = Swing(rate_hz=5.0, depth=4.9, phase=0.25, share=0.95, cycles=14.0)
    prediction = replace(small_result.prediction, swings=(None, tremolo))
    page = result_page(MatchResult(prediction, "kick.wav", 1.25))
    assert "the target&#x27;s level swings at 5.0 Hz, 9.8 dB from peak to trough (a tremolo)" in page


def test_zip_holds_the_answers_folder_and_a_melodys_midi(small_result, tmp_path):
    with zipfile.ZipFile(io.BytesIO(result_zip(small_result))) as archive:
        names = sorted(archive.namelist())
        assert names == ["candidates.json", "index.html"] + [f"rank0{k}.{kind}" for k in (1, 2, 3)
                                                             for kind in ("patch.json", "png", "wav")] + [
            "target.png", "target.wav"]
        page = archive.read("index.html").decode()
        assert f"candidate patches for {small_result.name}" in page and "comparison.png" not in page
        patch = patch_from_dict(json.loads(archive.read("rank03.patch.json")))
        assert torch.allclose(patch, small_result.prediction.candidates.params[2], atol=1e-5)
        audio, rate = soundfile.read(io.BytesIO(archive.read("rank01.wav")))
        assert rate == 16000 and audio.shape == (65408,)
    assert "the melody as MIDI" not in download_link(small_result)
    melodic = MatchResult(replace(small_result.prediction, file_melody="C4:0.5 -:0.25 E4:0.5"), "arp.wav", 1.0)
    with zipfile.ZipFile(io.BytesIO(result_zip(melodic))) as archive:
        (tmp_path / "melody.mid").write_bytes(archive.read("melody.mid"))
    assert "the melody as MIDI" in download_link(melodic)
    assert [(n.note, n.onset_s) for n in read_midi(tmp_path / "melody.mid")] == [(60, 0.0), (64, 0.75)]


def test_differences_skip_what_neither_candidate_lets_you_hear():
    params = editor.default_patch()[None].repeat(2, 1)
    params[:, PARAM_INDEX["reverb_mix"]] = 0.0  # reverb off in both: its decay cannot be heard
    params[1, PARAM_INDEX["reverb_decay"]] = 1.0 - float(params[0, PARAM_INDEX["reverb_decay"]])
    params[1, PARAM_INDEX["filter_cutoff"]] += 0.01
    assert [name for name, _, _ in differences(params, 1)] == ["filter_cutoff"]


def test_a_candidate_in_another_form_says_whose_sound_it_is(small_result):
    candidates = small_result.prediction.candidates
    params = candidates.params.clone()
    params[2] = permute_slots(params[0], (1, 0, 2))
    prediction = Prediction(small_result.prediction.target, replace(candidates, params=params))
    page = result_page(MatchResult(prediction, "kick.wav", 1.25))
    assert page.count("the sound of #1 in another form") == 1 and "the best match" in page


def test_the_length_box_keeps_one_note_of_a_melody_and_its_note_names_the_boxes(tmp_path):
    t = np.arange(8000) / 16000
    notes = [0.5 * np.sin(2 * np.pi * hz * t) for hz in (261.63, 329.63, 392.0)]  # C4, E4, G4, 0.5 s each
    soundfile.write(tmp_path / "melody.wav", np.concatenate(notes).astype(np.float32), 16000)

    class Capture:
        def predict(self, target, *args, **kwargs):
            self.target = target
            return "answer"

    capture = Capture()
    run_match(capture, str(tmp_path / "melody.wav"), MatchSettings())
    melody = next(note for note in capture.target.notes if "steps through 3 held notes" in note)
    assert melody.startswith("melody.wav: ") and "keep its part of the file, e.g. the first: start 0.00 s and " \
        "length 0.5" in melody and "--" not in melody
    run_match(capture, str(tmp_path / "melody.wav"), MatchSettings.from_form(10, "none", 0, 0.0, 0, True, 0.49))
    assert capture.target.length_s == 0.49 and "melody.wav: kept 0.490 s from 0.000 s, silence after it (length)" \
        in capture.target.notes and not any("steps through" in note for note in capture.target.notes)
    with pytest.raises(InputError, match="length: expected a number of seconds of at least 0"):
        MatchSettings.from_form(10, "none", 0, 0.0, 0, True, -1)


def test_the_synth_tabs_phrase_plays_the_patch_and_bad_notes_are_one_line():
    audio, note = editor.play_phrase(editor.default_patch(), "C3 E3:2 -", 120)
    assert audio.dtype == np.int16 and len(audio) > 16000 * 1.5 and np.abs(audio).max() > 100
    assert note.startswith("played 2 note(s), ")
    with pytest.raises(InputError, match="'H3' is not a note"):
        editor.play_phrase(editor.default_patch(), "C3 H3", 120)
    with pytest.raises(InputError, match="bpm: expected a positive"):
        editor.play_phrase(editor.default_patch(), "C3", None)


def test_the_synth_tabs_phrase_plays_a_midi_file_instead_and_a_bad_one_is_named(tmp_path):
    write_midi(tmp_path / "tune.mid", [MidiNote(0.0, 0.25, 60, 100, 0), MidiNote(0.25, 0.25, 64, 100, 0),
                                       MidiNote(0.5, 1.0, 67, 100, 0)])
    audio, note = editor.play_phrase(editor.default_patch(), "C3 H3", None, tmp_path / "tune.mid")  # text unused
    assert note.startswith("played 3 note(s), ") and len(audio) > 16000 * 1.5
    (tmp_path / "upload-123-song.mid").write_bytes(b"RIFF")
    with pytest.raises(InputError, match="expected a Standard MIDI File") as refused:
        editor.play_phrase(editor.default_patch(), "", 120, tmp_path / "upload-123-song.mid")
    assert str(tmp_path) not in str(refused.value)


def test_the_synth_tabs_soundfont_of_a_silent_patch_is_one_line(tmp_path):
    silent = editor.default_patch().clone()
    for name in ("osc1_level", "osc2_level", "osc3_level", "noise_level", "ring_level", "sub_level"):
        silent[PARAM_INDEX[name]] = 0.0
    with pytest.raises(InputError, match="the patch is silent at every note"):
        editor.write_soundfont(silent, tmp_path)
    assert not list(tmp_path.iterdir())  # nothing written
