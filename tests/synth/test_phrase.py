"""A patch played as a phrase: parsing, the pitch each note sounds at, placement of the renders, level, errors."""

from __future__ import annotations

import json

import pytest
import soundfile
import torch
import torch.nn.functional as F

from synth import render
from synth.cli import main
from synth.errors import InputError
from synth.params import PARAM_INDEX, PARAM_SPECS, from_physical, to_physical
from synth.patch import save_patch
from synth.phrase import GATE, PITCH, PhraseEvent, parse_phrase, play, sounding_offset, tunings
from synth.pitch import cents, estimate_pitch
from synth.prior import draw
from synth.spectrogram import DEFAULT_CONFIG


def one_oscillator(octave: int = 1, note: float = 48.0) -> torch.Tensor:
    """A plain sawtooth-like patch ``Tensor[100]``: oscillator 1 alone, ``octave`` octaves above ``note_pitch``."""
    params = draw(11, 0, 1, prior="2")[0]
    for name in ("osc2_level", "osc3_level", "noise_level", "ring_level", "sub_level", "osc1_fm_index",
                 "osc1_vibrato", "analog_drift"):
        params[PARAM_INDEX[name]] = 0.0
    params[PARAM_INDEX["osc1_level"]] = 1.0
    params[PARAM_INDEX["osc1_shape"]] = 2 / 3
    params[PARAM_INDEX["osc1_octave"]] = (octave + 2 + 0.5) / 5
    params[PARAM_INDEX["osc1_semitone"]] = 0.5
    params[PARAM_INDEX["osc1_fine"]] = 0.5  # 0 cents
    params[PARAM_INDEX["filter_cutoff"]] = 1.0
    params[PARAM_INDEX["filter_type"]] = 0.1  # low-pass, open
    params[PARAM_INDEX["pitch_env_amount"]] = 0.5
    params[PARAM_INDEX["output_gain"]] = 0.25  # -18 dB: three notes at once stay within full scale
    params[PARAM_INDEX["note_pitch"]] = from_physical(PARAM_SPECS[PITCH], note)
    return params


def test_events_notes_chords_rests_and_lengths():
    events = parse_phrase("C4 E4:2  G4+B4:1/3 -:0.5 60.5 r")
    assert events == [PhraseEvent((60.0,), 1.0), PhraseEvent((64.0,), 2.0), PhraseEvent((67.0, 71.0), 1 / 3),
                      PhraseEvent((), 0.5), PhraseEvent((60.5,), 1.0), PhraseEvent((), 1.0)]


@pytest.mark.parametrize("text, message", [("C4 X9", "'X9' is not a note"), ("C4:0", "is not a length in beats"),
                                           ("C4:1e400", "is not a length in beats"),
                                           ("C4:-1", "is not a length in beats"), ("C4:1/0", "is not a length"),
                                           ("C4:", "nothing after ':'"), ("- -:2", "has no notes"),
                                           ("", "has no notes")])
def test_bad_phrases_name_what_is_wrong(text, message):
    with pytest.raises(InputError, match=message):
        parse_phrase(text)


def test_notes_sound_at_the_pitch_written_whatever_the_oscillators_offset():
    """The oscillator plays an octave above note_pitch: A4 is played with note_pitch 57 and heard at 440 Hz; with
    read_pitch=False note_pitch is 69 and the note is heard an octave up."""
    patch = one_oscillator(octave=1)
    assert sounding_offset(patch, "auto") == 12.0  # CREPE reads 11.87-12.05: the oscillator's tuning is taken
    heard = play(patch, parse_phrase("A4:4"), path="auto")
    assert heard.notes[0].note_pitch == 57.0 and "sounds at C4 with note_pitch 48.00" in heard.messages[0]
    written = play(patch, parse_phrase("A4:4"), read_pitch=False, path="auto")
    assert (written.offset, written.placed_by) == (0.0, "note_pitch") and written.notes[0].note_pitch == 69.0
    assert written.messages == [] and heard.placed_by == "heard"
    length = DEFAULT_CONFIG.num_samples
    f0 = estimate_pitch(torch.stack([F.pad(p.audio, (0, length - len(p.audio))) for p in (heard, written)])).f0_hz
    assert cents(f0, torch.tensor([440.0, 880.0])).abs().max() < 15


def test_each_note_is_the_patch_rendered_at_its_pitch_and_length_added_at_its_onset():
    patch = one_oscillator(octave=0, note=60.0)
    phrase = play(patch, parse_phrase("C4 - E4+G4:3"), bpm=60.0, read_pitch=False, path="auto")
    assert [(n.onset_s, n.note, n.gate_s) for n in phrase.notes] == [(0.0, 60.0, 1.0), (2.0, 64.0, 3.0),
                                                                     (2.0, 67.0, 3.0)]
    rows = patch.repeat(3, 1)
    rows[:, PITCH] = torch.tensor([from_physical(PARAM_SPECS[PITCH], n) for n in (60.0, 64.0, 67.0)])
    rows[:, GATE] = torch.tensor([from_physical(PARAM_SPECS[GATE], s) for s in (1.0, 3.0, 3.0)])
    notes = render(rows, path="auto")
    rate, length = DEFAULT_CONFIG.sample_rate, DEFAULT_CONFIG.num_samples
    expected = torch.zeros(2 * rate + length)
    expected[:length] += notes[0]
    expected[2 * rate:] += notes[1]
    expected[2 * rate:] += notes[2]
    assert phrase.gain_db == 0.0 and float(phrase.audio.abs().max()) <= 1.0
    assert torch.equal(phrase.audio, expected[:len(phrase.audio)])
    cut = expected[len(phrase.audio):]
    assert len(cut) == 0 or float(cut.abs().max()) < 1e-4  # only silence cut from the end


def test_overlapping_notes_above_full_scale_are_scaled_down_to_it():
    patch = one_oscillator(octave=0, note=48.0)
    patch[PARAM_INDEX["output_gain"]] = 1.0  # 0 dB
    patch[PARAM_INDEX["note_velocity"]] = 1.0
    phrase = play(patch, parse_phrase("C3+E3+G3+C4+E4+G4:2"), read_pitch=False, path="auto")
    assert phrase.gain_db < 0 and float(phrase.audio.abs().max()) == pytest.approx(1.0)
    assert any("scaled down by" in m for m in phrase.messages)


def test_notes_out_of_the_synths_range_are_refused_with_the_patchs_range():
    patch = one_oscillator(octave=1)
    with pytest.raises(InputError, match=r"cannot play D8, E8: it sounds \+12\.00 semitones from its note_pitch, "
                                         r"which goes from 24 to 96, so its notes go from C2 to C8$"):
        play(patch, parse_phrase("C4 E8 D8 C8"), path="auto")
    with pytest.raises(InputError, match="bpm: expected a positive finite number"):
        play(patch, parse_phrase("C4"), bpm=0.0, path="auto")
    with pytest.raises(InputError, match=r"the notes last 1204 s \(the last one's .*; at most 600 s"):
        play(patch, parse_phrase("-:2400 C4"), path="auto")
    with pytest.raises(InputError, match=r"the notes last 5e\+307 s"):  # an onset beyond any sample count
        play(patch, parse_phrase("C4:1e308 D4"), path="auto")
    with pytest.raises(InputError, match="a note without a finite onset"):  # beyond any float
        play(patch, parse_phrase("C4 D4"), bpm=1e-310, path="auto")


def test_long_notes_are_held_for_the_longest_gate_with_a_message():
    phrase = play(one_oscillator(), parse_phrase("C4:16"), read_pitch=False, path="auto")
    assert phrase.notes[0].gate_s == to_physical(PARAM_SPECS[GATE], 1.0)
    assert any("held for 3.5 s" in m for m in phrase.messages)


def test_the_command_writes_the_phrase_and_its_json(tmp_path, capsys):
    save_patch(tmp_path / "p.json", one_oscillator())
    out = tmp_path / "phrase.wav"
    assert main(["play", str(tmp_path / "p.json"), "--notes", "C4 E4:2", "--bpm", "90", "-o", str(out),
                 "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert [n["name"] for n in report["notes"]] == ["C4", "E4"] and report["notes"][1]["onset_s"] == pytest.approx(
        60 / 90)
    assert report["offset_semitones"] == 12.0 and "sounds at C4" in captured.err
    audio, rate = soundfile.read(out)
    assert rate == 16000 and len(audio) / rate == pytest.approx(report["duration_s"], abs=1e-3)
    assert main(["play", str(tmp_path / "p.json"), "--notes", "C4 Q4", "-o", str(tmp_path / "x.wav")]) == 2
    assert "error: 'Q4' is not a note" in capsys.readouterr().err and not (tmp_path / "x.wav").exists()


def test_a_chord_is_placed_by_its_lowest_oscillator_and_noise_by_note_pitch(monkeypatch):
    chord = one_oscillator(octave=1)  # oscillators at +12, +16 and +19 semitones: a major triad on C4 at note 48
    for slot, semitones in (("osc2", 4), ("osc3", 7)):
        chord[PARAM_INDEX[f"{slot}_level"]] = 1.0
        chord[PARAM_INDEX[f"{slot}_shape"]] = chord[PARAM_INDEX["osc1_shape"]]
        chord[PARAM_INDEX[f"{slot}_octave"]] = chord[PARAM_INDEX["osc1_octave"]]
        chord[PARAM_INDEX[f"{slot}_semitone"]] = (semitones + 12 + 0.5) / 25
        chord[PARAM_INDEX[f"{slot}_fine"]] = 0.5
        chord[PARAM_INDEX[f"{slot}_fm_index"]] = 0.0
        chord[PARAM_INDEX[f"{slot}_vibrato"]] = 0.0
    assert sorted(tunings(chord)) == [12.0, 16.0, 19.0]
    phrase = play(chord, parse_phrase("G3"), path="auto")  # (CREPE may read its root, snapped to the same 12.0)
    assert phrase.offset == 12.0 and phrase.notes[0].note_pitch == 43.0
    with monkeypatch.context() as unread:
        unread.setattr("synth.phrase.sounding_offset", lambda *args: None)  # no one clear pitch heard
        phrase = play(chord, parse_phrase("G3"), path="auto")
    assert phrase.placed_by == "lowest oscillator" and "no one clear pitch" in phrase.messages[0]
    assert phrase.offset == 12.0 and phrase.notes[0].note_pitch == 43.0
    noise = one_oscillator()
    noise[PARAM_INDEX["osc1_level"]] = 0.0
    noise[PARAM_INDEX["noise_level"]] = 1.0
    assert sounding_offset(noise, "auto") is None and tunings(noise) == []
    phrase = play(noise, parse_phrase("C4"), path="auto")
    assert (phrase.offset, phrase.placed_by) == (0.0, "note_pitch") and phrase.notes[0].note_pitch == 60.0
    assert "no clear pitch and no oscillator" in phrase.messages[0]


def test_the_same_phrase_is_the_same_bytes_whatever_the_render_batch(monkeypatch):
    patch = one_oscillator(octave=0, note=60.0)
    events = parse_phrase("C4 E4+G4 C5:2 A3")
    whole = play(patch, events, read_pitch=False, path="auto").audio
    monkeypatch.setattr("synth.phrase.BATCH_ROWS", 2)  # the notes rendered two at a time
    assert torch.equal(play(patch, events, read_pitch=False, path="auto").audio, whole)
