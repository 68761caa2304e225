"""Standard MIDI Files read into notes: timing by ticks and tempo changes, running status, the ways a note ends, and
refusals that say what was expected."""

from __future__ import annotations

import json
import struct

import pytest

from synth.cli import main
from synth.errors import InputError
from synth.midi_file import MidiNote, read_midi, var_len_bytes, write_midi


def test_written_notes_read_back_to_the_tick(tmp_path):
    notes = [MidiNote(0.0, 0.5, 60, 100, 0), MidiNote(0.5, 0.25, 60, 90, 0), MidiNote(0.5, 1.0, 67, 64, 3),
             MidiNote(1.2345, 20.0, 40, 1, 0)]  # a repeated note, legato; a long one (delta times of 3 bytes)
    write_midi(tmp_path / "w.mid", notes)
    back = read_midi(tmp_path / "w.mid")
    assert [(n.note, n.velocity, n.channel) for n in back] == [(n.note, n.velocity, n.channel) for n in notes]
    for n, m in zip(back, notes):
        assert abs(n.onset_s - m.onset_s) <= 1 / 1920 and abs(n.length_s - m.length_s) <= 1 / 960


def track(*events: tuple[int, bytes]) -> bytes:
    """A track chunk of ``(delta ticks, event bytes)`` with its end-of-track."""
    body = b"".join(var_len_bytes(delta) + event for delta, event in events) + b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + body


def midi(*tracks: bytes, kind: int = 0, division: int = 480) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, kind, len(tracks), division) + b"".join(tracks)


def test_a_format_0_file_at_the_default_tempo_with_running_status_and_velocity_0_offs(tmp_path):
    path = tmp_path / "a.mid"
    path.write_bytes(midi(track((0, b"\xc0\x05"), (0, b"\x90\x3c\x64"), (480, b"\x3c\x00"),  # C4 off: running status
                                (0, b"\x40\x50"), (0, b"\xf0\x02\x01\xf7"), (0, b"\xe0\x00\x40"),  # E4; sysex, bend
                                (480, b"\x80\x40\x00"))))
    assert read_midi(path) == [MidiNote(0.0, 0.5, 60, 100, 0), MidiNote(0.5, 0.5, 64, 80, 0)]


def test_format_1_tracks_play_together_by_the_tempo_map(tmp_path):
    tempo = track((0, b"\xff\x51\x03" + (1_000_000).to_bytes(3, "big")),  # 60 bpm, then 120 bpm from tick 960
                  (960, b"\xff\x51\x03" + (500_000).to_bytes(3, "big")))
    notes = track((0, b"\x91\x30\x60"), (960, b"\x81\x30\x00"), (0, b"\x91\x34\x60"), (480, b"\x81\x34\x00"))
    chord = track((960, b"\x92\x37\x40"), (240, b"\x92\x37\x40"), (240, b"\x82\x37\x00"))  # G3 struck again
    path = tmp_path / "b.mid"
    path.write_bytes(midi(tempo, notes, chord, kind=1))
    assert read_midi(path) == [MidiNote(0.0, 2.0, 48, 96, 1), MidiNote(2.0, 0.5, 52, 96, 1),
                               MidiNote(2.0, 0.25, 55, 64, 2), MidiNote(2.25, 0.25, 55, 64, 2)]


@pytest.mark.parametrize("data, message", [
    (b"RIFF....WAVEfmt ", "expected a Standard MIDI File"),
    (midi(track((0, b"\x90\x3c\x64")), kind=2), "MIDI format 2: expected format 0 or 1"),
    (midi(track((0, b"\x90\x3c\x64")), division=0xE728), "SMPTE-timed MIDI"),
    (midi(track((0, b"\x90\x3c\x64"), (480, b"\x80\x3c\x00")))[:-9], "ends in the middle of an event"),
    (midi(track((0, b"\x3c\x64"))), "a MIDI data byte with no status before it"),
])
def test_what_is_not_a_midi_file_says_what_was_expected(tmp_path, data, message):
    path = tmp_path / "x.mid"
    path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        read_midi(path)


def test_the_command_plays_a_midi_files_notes_at_their_times(tmp_path, capsys):
    path = tmp_path / "c.mid"
    path.write_bytes(midi(track((0, b"\x90\x3c\x64"), (240, b"\x80\x3c\x00"), (720, b"\x90\x43\x64"),
                                (480, b"\x80\x43\x00"))))
    assert main(["random", "--seed", "1", "--prior", "2", "-o", str(tmp_path / "p.json")]) == 0
    assert main(["play", str(tmp_path / "p.json"), "--midi", str(path), "--as-note-pitch", "-o",
                 str(tmp_path / "m.wav"), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out.split("\n", 1)[1])
    assert [(n["onset_s"], n["note"], n["note_pitch"], n["gate_s"]) for n in report["notes"]] == [
        (0.0, 60.0, 60.0, 0.25), (1.0, 67.0, 67.0, 0.5)]
    assert report["bpm"] is None and f"{path}: 2 notes over 1.5 s" in captured.err
    patch_velocity = report["notes"][0]["velocity"]
    assert main(["play", str(tmp_path / "p.json"), "--midi", str(path), "--midi-velocity", "-o",
                 str(tmp_path / "v.wav"), "--json"]) == 0
    velocities = [n["velocity"] for n in json.loads(capsys.readouterr().out)["notes"]]
    assert velocities == [round(100 / 127, 4)] * 2 and patch_velocity != velocities[0]
    assert main(["play", str(tmp_path / "p.json"), "--notes", "C4", "--midi-velocity", "-o", "x.wav"]) == 2
    assert "--midi-velocity takes the velocities of --midi" in capsys.readouterr().err
    assert main(["play", str(tmp_path / "p.json"), "--midi", str(path), "-o", str(path)]) == 2  # not over its input
    assert "-o " + str(path) + " is the same file as the MIDI file" in capsys.readouterr().err
    assert main(["play", str(tmp_path / "p.json"), "--notes", "C4", "-o", str(tmp_path)]) == 2
    assert "expected a file path, got a directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # one or the other
        main(["play", str(tmp_path / "p.json"), "--midi", str(path), "--notes", "C4", "-o", "x.wav"])
    assert usage.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
