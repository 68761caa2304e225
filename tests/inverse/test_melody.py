"""Several notes one after another (inverse.melody) and keeping part of a file (--length, inverse.target)."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import soundfile
import torch
import torch.nn.functional as F

from inverse.cli import main as inverse_main
from inverse.melody import (
    FRAME_S,
    MIN_NOTE_S,
    HeldNote,
    held_notes,
    melody_note,
    melody_phrase,
    note_parts,
    steps_through_notes,
)
from inverse.plain import plain_params, with_loudness
from inverse.target import LENGTH_FADE_S, keep_length, load_any_target
from synth.errors import InputError
from synth.image_io import write_png
from synth.midi_file import read_midi
from synth.phrase import parse_phrase
from synth.pitch import midi_to_hz
from synth.spectrogram import DEFAULT_CONFIG
from synth.voice import render

RATE = DEFAULT_CONFIG.sample_rate
HELD = {"amp_env_attack": 0.002, "amp_env_decay": 0.3, "amp_env_sustain": 0.8, "amp_env_release": 0.05,
        "note_gate": 3.5, "amp_env_curve": 0.5}
SAW = 2  # inverse.plain.SHAPES index of the sawtooth
# predict's pool additions left out where the melody's handling is tested (each is tested on its own): half the time
LEAN = ["--plain", "0", "--refit", "0", "--glides", "0", "--modulation", "0"]


def saw(note: float, **settings: float) -> torch.Tensor:
    """A plain sawtooth held at ``note`` (MIDI) with ``settings`` (physical values): audio ``Tensor[65408]``."""
    row = with_loudness(plain_params(torch.full((1, 100), 0.5), midi_to_hz(note))[SAW:SAW + 1], HELD)
    return render(with_loudness(row, settings) if settings else row, path="eager")[0]


def sequence(notes: list[float], seconds: float) -> torch.Tensor:
    """``notes`` one after another, ``seconds`` each (cut with 5 ms fades), then silence: ``Tensor[65408]``."""
    out = torch.zeros(DEFAULT_CONFIG.num_samples)
    each, fade = round(seconds * RATE), round(0.005 * RATE)
    ramp = torch.ones(each)
    ramp[:fade], ramp[-fade:] = torch.linspace(0, 1, fade), torch.linspace(1, 0, fade)
    for k, note in enumerate(notes):
        out[k * each:(k + 1) * each] = saw(note)[:each] * ramp
    return out


def suggested(note: str) -> tuple[float, float]:
    """The ``--start`` and ``--length`` a melody's note suggests."""
    found = re.search(r"--start ([0-9.]+) --length ([0-9.]+) \(--each-note answers each\)$", note)
    return float(found[1]), float(found[2])


def test_a_sequence_of_notes_is_read_note_by_note_with_its_times_and_named():
    notes = held_notes(sequence([60.0, 64.0, 67.0, 72.0], 0.5))
    assert [n.name for n in notes] == ["C4", "E4", "G4", "C5"]
    for k, n in enumerate(notes):
        assert n.note == pytest.approx(60.0 + (0, 4, 7, 12)[k], abs=0.3)
        assert n.start_s == pytest.approx(0.5 * k, abs=0.06) and n.end_s == pytest.approx(0.5 * k + 0.5, abs=0.06)
    assert steps_through_notes(notes)
    text = melody_note(notes, "arp.wav", start_s=1.0)
    assert text.startswith("arp.wav: its pitch steps through 4 held notes one after another (C4 at 0.")
    # the first note's part of the file: from where the audio begins to half a frame before the second note
    begin, length = suggested(text)
    assert begin == pytest.approx(1.0, abs=0.03) and length == pytest.approx(0.5, abs=0.06)
    assert "--start" not in melody_note(notes, "arp.png", start_s=None)


def test_one_note_a_vibrato_a_glide_and_octave_slips_are_not_a_melody():
    assert held_notes(saw(57.0)) and not steps_through_notes(held_notes(saw(57.0)))
    vibrato = saw(57.0, osc1_vibrato=60.0, osc2_vibrato=60.0, osc3_vibrato=60.0, lfo1_rate=6.0, lfo1_shape=0.0)
    assert not steps_through_notes(held_notes(vibrato))
    glide = saw(48.0, pitch_env_amount=-14.0, pitch_env_decay=1.5)  # rising 14 semitones over the note
    assert not steps_through_notes(held_notes(glide))
    slips = [HeldNote(45.0, 0.0, 2.0), HeldNote(57.1, 2.1, 2.3), HeldNote(45.0, 2.4, 3.0)]
    assert not steps_through_notes(slips) and melody_note(slips, "x.wav") is None
    assert steps_through_notes([HeldNote(45.0, 0.0, 1.0), HeldNote(46.0, 1.0, 2.0)])


def test_a_note_shorter_than_the_minimum_is_not_held():
    assert MIN_NOTE_S >= 0.1
    notes = held_notes(sequence([60.0, 67.0, 60.0], 0.08))  # 80 ms each: a trill's grace notes
    assert not steps_through_notes(notes)


def test_keep_length_silences_after_the_kept_part_with_a_short_fade():
    audio = torch.ones(DEFAULT_CONFIG.num_samples)
    kept = keep_length(audio, 0.5)
    cut, fade = round(0.5 * RATE), round(LENGTH_FADE_S * RATE)
    assert torch.equal(kept[:cut - fade], audio[:cut - fade]) and bool((kept[cut:] == 0).all())
    assert bool((kept[cut - fade:cut].diff() < 0).all()) and float(kept[cut - fade]) > 0.9 and float(kept[cut - 1]) == 0
    assert torch.equal(keep_length(audio, 10.0), audio)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InputError, match="--length must be a positive number of seconds"):
            keep_length(audio, bad)


def test_a_melody_file_is_noted_and_its_first_note_alone_has_its_pitch(tmp_path):
    path = tmp_path / "arp.wav"
    soundfile.write(path, sequence([60.0, 64.0, 67.0], 0.6).numpy(), RATE, subtype="FLOAT")
    whole = load_any_target(path)
    assert any("steps through 3 held notes" in note for note in whole.notes)
    melody = next(note for note in whole.notes if "steps through" in note)
    start, length = suggested(melody)
    first = load_any_target(path, start=start, length=length)
    assert not any("steps through" in note for note in first.notes)
    assert any("kept" in note and "(--length)" in note for note in first.notes)
    assert first.length_s == length and first.pitch_hz == pytest.approx(midi_to_hz(60.0), rel=0.03)
    with pytest.raises(InputError, match="the .* are silent"):
        load_any_target(tmp_path / "arp.wav", start=3.0, length=0.5)


def test_length_is_refused_for_a_spectrogram_and_checked_on_the_command_line(tmp_path, capsys):
    png = tmp_path / "t.png"
    u8 = np.zeros((512, 512), dtype=np.uint8)
    u8[40] = 255
    write_png(png, u8)
    with pytest.raises(InputError, match="t.png: --length applies to audio files"):
        load_any_target(png, length=1.0)
    with pytest.raises(SystemExit):
        inverse_main(["predict", str(png), "--length", "0"])
    assert "--length" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed (apt-get install sox)")
def test_a_sox_melody_is_noted_by_predict_and_length_is_in_its_json(tmp_path, capsys):
    parts = []
    for k, note in enumerate(("%-9", "%-5", "%-2")):  # C4, E4, G4 from sox's synth, 0.4 s each
        parts.append(str(tmp_path / f"part{k}.wav"))
        subprocess.run(["sox", "-n", "-r", "16000", parts[-1], "synth", "0.4", "sawtooth", note, "fade", "0.01",
                        "0.4", "0.05", "gain", "-8"], check=True)
    melody = tmp_path / "melody.wav"
    subprocess.run(["sox", *parts, str(melody)], check=True)
    notes = held_notes(torch.from_numpy(np.pad(soundfile.read(melody, dtype="float32")[0], (0, 65408 - 19200))))
    assert [n.name for n in notes] == ["C4", "E4", "G4"]
    code = inverse_main(["predict", str(melody), "--json", "--pool", "4", "--retrieved", "4", "--samples", "2",
                         "--refine", "none", "--expand", "0", "--spread", "0", *LEAN, "--length", "0.39"])
    captured = capsys.readouterr()
    assert code == 0 and "steps through" not in captured.err and "kept 0.390 s" in captured.err
    assert json.loads(captured.out)["target"]["length_s"] == 0.39
    assert json.loads(captured.out)["target"]["melody"] == []  # one note kept: no melody
    code = inverse_main(["predict", str(melody), "--json", "--pool", "4", "--retrieved", "4", "--samples", "2",
                         "--refine", "none", "--expand", "0", "--spread", "0", *LEAN])
    target = json.loads(capsys.readouterr().out)["target"]
    held = target["melody"]
    assert code == 0 and [n["name"] for n in held] == ["C4", "E4", "G4"]
    assert held[1]["start_s"] == pytest.approx(0.4, abs=0.05) and held[1]["end_s"] > held[1]["start_s"]
    events = parse_phrase(target["melody_phrase"])  # a candidate plays it: synth play --bpm 60 --notes TEXT
    assert [e.notes for e in events if e.notes] == [(60.0,), (64.0,), (67.0,)]
    assert sum(e.beats for e in events) == pytest.approx(1.2, abs=0.05)


def test_the_melody_as_a_phrase_a_beat_a_second_with_rests_where_nothing_is_held():
    notes = [HeldNote(60.2, 0.1, 0.48), HeldNote(63.9, 0.5, 0.98), HeldNote(67.0, 1.4, 1.5)]
    half = FRAME_S / 2
    assert melody_phrase(notes) == (f"-:{0.1 - half:.3f} C4:{0.48 - 0.1 + 2 * half:.3f} E4:{0.98 - 0.48:.3f} "
                                    f"-:{1.4 - 0.98 - 2 * half:.3f} G4:{0.1 + 2 * half:.3f}")


def test_note_parts_run_from_each_note_to_the_next_and_the_last_to_the_end():
    notes = [HeldNote(60.0, 0.06, 0.48), HeldNote(64.0, 0.52, 0.98), HeldNote(67.0, 1.02, 1.5)]
    parts = note_parts(notes)
    assert parts[0] == (0.0, pytest.approx(0.52 - FRAME_S / 2))  # the first from 0: an attack the tracker hears late
    assert parts[1] == (pytest.approx(0.52 - FRAME_S / 2), pytest.approx(0.5))
    assert parts[2] == (pytest.approx(1.02 - FRAME_S / 2), None)  # the last keeps its release


def test_each_note_answers_every_note_of_a_melody_and_every_part_of_a_run_and_a_plain_note_whole(tmp_path, capsys):
    melody, single, run = tmp_path / "arp.wav", tmp_path / "one.wav", tmp_path / "run.wav"
    soundfile.write(melody, sequence([60.0, 64.0, 67.0], 0.6).numpy(), RATE, subtype="FLOAT")
    soundfile.write(single, saw(57.0).numpy(), RATE, subtype="FLOAT")
    staccato = sequence([57.0], 0.3)  # A3 twice, 0.3 s of silence between: two parts, one pitch
    staccato[round(0.6 * RATE):] += staccato[:-round(0.6 * RATE)].clone()
    soundfile.write(run, staccato.numpy(), RATE, subtype="FLOAT")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEjunk")
    code = inverse_main(["predict", str(melody), str(single), str(run), str(broken), "--each-note", "--json", "--pool",
                         "4", "--retrieved", "4", "--samples", "2", "--refine", "none", "--expand", "0", "--spread",
                         "0", *LEAN, "--out", str(tmp_path / "out"), "--no-figure"])
    captured = capsys.readouterr()
    answers = json.loads(captured.out)
    assert code == 2 and len(answers) == 7 and "6 of 7 targets answered; failed: " in captured.err
    assert answers[6]["source"] == str(broken) and "could not decode it" in answers[6]["error"]  # failed alone
    assert f"{single}: --each-note: neither does its pitch step through several held notes nor does its sound come " \
           "in several parts with silence between them; answered whole" in captured.err
    # the run: each part from its start to the next one's, the last to the end of the 4.088 s read
    assert [a["target"]["source"] for a in answers[4:6]] == [f"{run} part 1 (at 0.00 s)", f"{run} part 2 (at 0.60 s)"]
    assert [a["target"]["start_s"] for a in answers[4:6]] == [0.0, 0.6]
    assert [a["target"]["length_s"] for a in answers[4:6]] == [0.6, pytest.approx(4.088 - 0.6, abs=1e-3)]
    for answer in answers[4:6]:
        assert answer["target"]["pitch_hz"] == pytest.approx(midi_to_hz(57.0), rel=0.03)
    assert [a["target"]["source"] for a in answers[:3]] == [f"{melody} note {k} ({name})" for k, name in
                                                             ((1, "C4"), (2, "E4"), (3, "G4"))]
    starts = [a["target"]["start_s"] for a in answers[:3]]
    assert starts[0] == 0.0 and starts[1] == pytest.approx(0.6, abs=0.06) and starts[2] == pytest.approx(1.2, abs=0.06)
    assert answers[2]["target"]["length_s"] is None and answers[3]["target"]["source"] == str(single)
    for answer, note in zip(answers[:3], (60.0, 64.0, 67.0)):
        assert answer["target"]["pitch_hz"] == pytest.approx(midi_to_hz(note), rel=0.03)
    # each note's answer carries the whole melody, for `synth play` (written to its candidates.json too)
    phrases = {a["target"]["melody_phrase"] for a in answers[:3]}
    assert len(phrases) == 1 and [e.notes for e in parse_phrase(phrases.pop()) if e.notes] == [(60.,), (64.,), (67.,)]
    assert "melody_phrase" in json.loads((tmp_path / "out" / "arp_note2_E4" / "candidates.json").read_text())["target"]
    assert all("melody_phrase" not in a["target"] for a in answers[3:6])
    assert [n.note for n in read_midi(tmp_path / "out" / "arp_note2_E4" / "melody.mid")] == [60, 64, 67]  # and MIDI
    assert not (tmp_path / "out" / "one" / "melody.mid").exists()
    # the melody played back by each note's best candidate: the same notes in the same order
    assert f"{melody}: its melody played back, each note by its answer's best candidate" in captured.err
    replay = torch.from_numpy(soundfile.read(tmp_path / "out" / "arp_melody.wav", dtype="float32")[0])
    assert [n.name for n in held_notes(F.pad(replay, (0, max(0, 65408 - len(replay))))[:65408])] == ["C4", "E4", "G4"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*_melody.wav")) == ["arp_melody.wav"]
    assert not list((tmp_path / "out").glob("*/comparison.png"))  # --no-figure
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["arp_melody.wav", "arp_note1_C4", "arp_note2_E4",
                                                                   "arp_note3_G4", "index.html", "one", "run_part1",
                                                                   "run_part2"]
    # one page for every answer: each links its own page and plays its target, best candidate and the melody
    page = (tmp_path / "out" / "index.html").read_text()
    for folder in ("arp_note1_C4", "arp_note2_E4", "arp_note3_G4", "one", "run_part1", "run_part2"):
        for name in ("index.html", "target.wav", "rank01.wav"):
            assert f'"{folder}/{name}"' in page and (tmp_path / "out" / folder / name).is_file()
    assert 'src="arp_melody.wav"' in page and "could not decode it" in page
    png = tmp_path / "t.png"
    write_png(png, np.zeros((512, 512), dtype=np.uint8) + 100)
    assert inverse_main(["predict", str(png), "--each-note"]) == 2
    assert "t.png: --each-note cuts an audio file into its notes" in capsys.readouterr().err
