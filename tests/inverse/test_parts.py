"""Several sounds with silence between them (a loop, staccato notes) are read as parts and noted with the options
that keep one; a single note, a drum hit's decay and silence are one part or none."""

import shutil
import subprocess

import pytest
import torch

from inverse.parts import parts_note, sounding_parts
from inverse.target import load_any_target
from synth.audio_io import read_wav

pytestmark = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed (.ci/run installs it)")


def sox_note(path, seconds: str, *after: str) -> None:
    subprocess.run(["sox", "-R", "-D", "-n", "-r", "16000", "-c", "1", "-b", "16", str(path), "synth", seconds,
                    "sawtooth", "A3", "fade", "0.005", seconds, "0.005", "gain", "-6", *after], check=True)


def test_staccato_notes_are_parts_and_the_note_keeps_the_first(tmp_path):
    one, run = tmp_path / "one.wav", tmp_path / "run.wav"
    sox_note(one, "0.3", "pad", "0", "0.2")
    subprocess.run(["sox", "-D", str(one), str(one), str(one), str(run)], check=True)
    parts = sounding_parts(read_wav(run)[0])
    assert [round(p.start_s, 2) for p in parts] == [0.0, 0.5, 1.0]
    assert all(0.28 <= p.end_s - p.start_s <= 0.32 for p in parts)
    target = load_any_target(run)
    note = [n for n in target.notes if "parts with silence" in n]
    assert len(note) == 1 and "comes in 3 parts with silence between them (at 0.00, 0.50, 1.00 s)" in note[0]
    assert note[0].endswith("--start 0.00 --length 0.50 (--each-note answers each)")
    kept = load_any_target(run, start=0.0, length=0.5)  # following it: one part, no note
    assert not any("parts with silence" in n for n in kept.notes) and len(sounding_parts(kept.audio)) == 1


def test_one_note_and_silence_are_not_several_parts(tmp_path):
    sox_note(tmp_path / "long.wav", "2.0")
    audio = read_wav(tmp_path / "long.wav")[0]
    assert len(sounding_parts(audio)) == 1
    assert not any("parts with silence" in n for n in load_any_target(tmp_path / "long.wav").notes)
    assert sounding_parts(torch.zeros(16000)) == []
    assert parts_note("x.wav", sounding_parts(audio), 0.0) is None
