"""An audio target's level into the range patches play: float audio above full scale is scaled down to it, a very
quiet target raised to -40 dBFS, both noted; audio within the range, integer PCM included, is read bit for bit as
before, and silence is still refused."""

import numpy as np
import pytest
import soundfile
import torch

from inverse.level import QUIET_PEAK, level_gain, level_note
from inverse.target import load_any_target
from synth.errors import InputError

RATE = 16000


def note(peak: float, seconds: float = 1.5, lead_in_s: float = 0.0) -> np.ndarray:
    """A decaying 220 Hz sawtooth with peak ``peak``, after ``lead_in_s`` of silence."""
    t = np.arange(round(seconds * RATE)) / RATE
    saw = (2.0 * ((220.0 * t) % 1.0) - 1.0) * np.exp(-2.0 * t)
    return np.concatenate([np.zeros(round(lead_in_s * RATE)), saw / np.abs(saw).max() * peak]).astype(np.float32)


def test_a_float_note_above_full_scale_reads_back_as_the_note_at_full_scale(tmp_path):
    soundfile.write(tmp_path / "full.wav", note(1.0), RATE, subtype="FLOAT")
    soundfile.write(tmp_path / "hot.wav", note(4.0), RATE, subtype="FLOAT")
    hot, full = load_any_target(tmp_path / "hot.wav"), load_any_target(tmp_path / "full.wav")
    assert any("scaled down by 12.0 dB to full scale: its peak is +12.0 dBFS" in n for n in hot.notes)
    assert "scaled down by 0.003 dB to full scale: its peak is +0.003 dBFS" in level_note("x.wav", 10 ** (-0.003 / 20))
    assert not any("full scale" in n for n in full.notes)
    assert float(hot.audio.abs().max()) == pytest.approx(1.0)
    assert float((hot.audio - full.audio).abs().max()) < 1e-6


def test_a_louder_part_after_a_lead_in_lowers_the_gain_again(tmp_path):
    # the first window's peak is the quiet note's; the re-read window (from where the sound rises) holds the loud one
    audio = np.concatenate([note(2.0, 0.5, lead_in_s=1.0), note(8.0, 1.0, lead_in_s=2.9)])
    soundfile.write(tmp_path / "two.wav", audio, RATE, subtype="FLOAT")
    target = load_any_target(tmp_path / "two.wav")
    assert target.start_s == pytest.approx(1.0, abs=0.02)
    assert float(target.audio.abs().max()) == pytest.approx(1.0)
    assert any("its peak is +18.1 dBFS" in n for n in target.notes)


def test_audio_within_full_scale_is_left_alone(tmp_path):
    assert level_gain(torch.tensor([0.5, -1.0, 0.25])) == 1.0 and level_gain(torch.zeros(0)) == 1.0
    assert level_gain(torch.tensor([0.5, -2.0])) == 0.5
    assert level_gain(torch.tensor([0.001, -0.002])) == pytest.approx(5.0) and level_gain(torch.tensor([5e-5])) == 1.0
    soundfile.write(tmp_path / "pcm.wav", note(0.999), RATE, subtype="PCM_16")
    soundfile.write(tmp_path / "half.wav", note(0.5), RATE, subtype="FLOAT")
    for name in ("pcm.wav", "half.wav"):
        target = load_any_target(tmp_path / name)
        assert not any("full scale" in n for n in target.notes)
    half = load_any_target(tmp_path / "half.wav")
    assert float(half.audio.abs().max()) == pytest.approx(0.5, abs=1e-6)


def test_a_quiet_note_is_raised_to_minus_40_dbfs_and_silence_is_still_refused(tmp_path):
    soundfile.write(tmp_path / "quiet.wav", note(0.001), RATE, subtype="FLOAT")  # -60 dBFS
    soundfile.write(tmp_path / "at.wav", note(QUIET_PEAK), RATE, subtype="FLOAT")
    quiet, at = load_any_target(tmp_path / "quiet.wav"), load_any_target(tmp_path / "at.wav")
    assert any("raised by 20.0 dB to a peak of -40 dBFS: its peak is -60.0 dBFS" in n for n in quiet.notes)
    assert not any("raised by" in n for n in at.notes), at.notes
    assert float((quiet.audio - at.audio).abs().max()) < 1e-7
    soundfile.write(tmp_path / "silent.wav", note(5e-5), RATE, subtype="FLOAT")  # -86 dBFS: silence, not raised
    with pytest.raises(InputError, match="silent"):
        load_any_target(tmp_path / "silent.wav")


def test_a_raised_quiet_note_names_its_noise_floor_at_the_files_level(tmp_path):
    """A note at -60 dBFS over hiss at -95 dBFS is raised by 20 dB; the gated floor is named as it is in the file."""
    # dBFS: RMS against a full-scale sine's
    hiss = np.random.default_rng(0).standard_normal(round(4.5 * RATE)) * np.sqrt(0.5) * 10 ** (-95 / 20)
    audio = np.concatenate([note(0.001, 1.5), np.zeros(round(3.0 * RATE))]) + hiss
    soundfile.write(tmp_path / "quiet_hiss.wav", audio.astype(np.float32), RATE, subtype="FLOAT")
    target = load_any_target(tmp_path / "quiet_hiss.wav")
    assert any("raised by" in n for n in target.notes), target.notes
    said = [n for n in target.notes if "gated out a steady noise floor at " in n]
    assert len(said) == 1 and abs(int(said[0].split(" at ")[1].split(" dBFS")[0]) + 95) <= 2, said
