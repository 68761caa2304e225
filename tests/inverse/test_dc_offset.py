"""A DC offset under an audio target is removed before matching (and only one that large): a sox note with sox's
dcshift reads back as the note, noted; a note without one, and a padded short file's zeros, are left as they are."""

import subprocess

import pytest
import torch

from inverse.dc_offset import MIN_OFFSET, remove_offset
from inverse.target import load_any_target

pytestmark = pytest.mark.skipif(subprocess.run(["which", "sox"], capture_output=True).returncode != 0,
                                reason="sox is not installed (.ci/run installs it)")


def sox(*args: str) -> None:
    subprocess.run(["sox", "-R", "-D", *args], check=True, capture_output=True)


def test_a_sox_note_with_an_offset_reads_back_as_the_note(tmp_path):
    clean, shifted = tmp_path / "clean.wav", tmp_path / "shifted.wav"
    sox("-n", "-r", "16000", "-b", "32", "-e", "floating-point", str(clean), "synth", "1.5", "sawtooth", "220",
        "fade", "0.01", "1.5", "0.3", "gain", "-6")
    sox(str(clean), "-e", "floating-point", str(shifted), "dcshift", "0.2")
    note, plain = load_any_target(shifted), load_any_target(clean)
    assert any("removed a DC offset of +0.200" in n for n in note.notes)
    assert not any("DC offset" in n for n in plain.notes)
    assert float((note.audio - plain.audio).abs().max()) < 2e-3  # the sawtooth's own mean, ~1e-4, goes with it
    assert float(note.audio[24000:].abs().max()) == 0.0  # the padding after the 1.5 s file stays silent


def test_small_means_and_silence_are_left_alone():
    t = torch.arange(16000) / 16000
    tone = 0.5 * torch.sin(2 * torch.pi * 220 * t)
    for audio in (tone + 0.5 * MIN_OFFSET, torch.zeros(100)):
        kept, offset = remove_offset(audio)
        assert kept is audio and offset is None
    moved, offset = remove_offset(torch.cat([tone - 0.05, torch.zeros(1000)]))
    assert offset == pytest.approx(-0.05, abs=1e-4) and float(moved[:16000].mean()) == pytest.approx(0, abs=1e-6)
    assert float(moved[16000:].abs().max()) == 0.0
