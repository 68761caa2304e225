"""Reading and writing audio files: round trips, conversions and the errors for bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile
import torch

from synth.audio_io import fit_length, read_wav, write_wav
from synth.errors import InputError


def tone(num_samples: int, rate: int, freq_hz: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(num_samples) / rate
    return (amplitude * np.sin(2 * math.pi * freq_hz * t)).astype(np.float32)


def test_pcm16_round_trip(tmp_path):
    audio = torch.from_numpy(tone(4000, 16000))
    write_wav(tmp_path / "a.wav", audio, 16000)
    info = soundfile.info(str(tmp_path / "a.wav"))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    back, notes = read_wav(tmp_path / "a.wav", 16000)
    assert notes == []
    assert back.dtype == torch.float32 and back.shape == (4000,)
    assert (back - audio).abs().max().item() <= 1 / 32767 + 1e-6


def test_float_round_trip_is_lossless(tmp_path):
    audio = torch.from_numpy(tone(4000, 16000)) * 1.7  # outside [-1, 1] survives FLOAT unclipped
    assert write_wav(tmp_path / "f.wav", audio, 16000, subtype="FLOAT") == 0
    back, _ = read_wav(tmp_path / "f.wav", 16000)
    assert torch.equal(back, audio)


def test_pcm_write_clips_and_counts(tmp_path):
    audio = np.array([0.0, 1.5, -2.0, 0.5], dtype=np.float32)
    assert write_wav(tmp_path / "c.wav", audio, 16000) == 2
    back, _ = read_wav(tmp_path / "c.wav", 16000)
    assert back[1].item() == pytest.approx(1.0, abs=1e-4)
    assert back[2].item() == pytest.approx(-1.0, abs=1e-4)  # not wrapped around to positive


def test_write_rejects_non_finite(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        write_wav(tmp_path / "n.wav", np.array([0.0, np.nan], dtype=np.float32), 16000)


def test_other_rate_is_resampled_with_a_note(tmp_path):
    soundfile.write(str(tmp_path / "hi.wav"), tone(44100, 44100, 1000.0), 44100, subtype="PCM_16")
    audio, notes = read_wav(tmp_path / "hi.wav", 16000)
    assert audio.shape[0] == pytest.approx(16000, abs=1)
    assert len(notes) == 1 and "44100 Hz -> 16000 Hz" in notes[0]
    spectrum = np.abs(np.fft.rfft(audio.numpy()[1000:-1000]))
    peak_hz = spectrum.argmax() * 16000 / (audio.shape[0] - 2000)
    assert peak_hz == pytest.approx(1000.0, abs=2.0)


def test_other_rate_without_resampling_is_an_input_error(tmp_path):
    soundfile.write(str(tmp_path / "hi.wav"), tone(4410, 44100), 44100)
    with pytest.raises(InputError, match=r"expected a sample rate of 16000 Hz, got 44100 Hz"):
        read_wav(tmp_path / "hi.wav", 16000, resample=False)


def test_stereo_needs_downmix(tmp_path):
    left, right = tone(1600, 16000, amplitude=0.5), tone(1600, 16000, amplitude=0.1)
    soundfile.write(str(tmp_path / "st.wav"), np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    with pytest.raises(InputError, match="expected mono audio, got 2 channels") as info:
        read_wav(tmp_path / "st.wav", 16000)
    assert "\n" not in str(info.value)
    audio, notes = read_wav(tmp_path / "st.wav", 16000, downmix=True)
    assert np.allclose(audio.numpy(), (left + right) / 2, atol=1e-7)
    assert notes[0].endswith("downmixed 2 channels to mono (mean of the channels)")  # in phase: nothing lost


def test_a_downmix_whose_channels_cancel_reads_the_loudest_channel(tmp_path):
    left = tone(1600, 16000, amplitude=0.5)
    soundfile.write(str(tmp_path / "wide.wav"), np.stack([-0.8 * left, left], axis=1), 16000, subtype="FLOAT")
    audio, notes = read_wav(tmp_path / "wide.wav", 16000, downmix=True)
    assert np.array_equal(audio.numpy(), left)  # the mean, a tenth of it, would be a thin copy
    # unrelated channels' mean: (0.64 + 1) / 4 of the power; this one's: 0.01: 16.1 dB below
    assert notes[0].endswith("read channel 2 of 2, the loudest: the mean of the channels is 16.1 dB below what "
                             "unrelated channels give, they cancel (out of phase)")
    soundfile.write(str(tmp_path / "inverted.wav"), np.stack([left, -left], axis=1), 16000, subtype="FLOAT")
    audio, notes = read_wav(tmp_path / "inverted.wav", 16000, downmix=True)  # the mean: digital silence
    assert np.array_equal(audio.numpy(), left) and "the mean of the channels is silent" in notes[0]
    assert "\n" not in notes[0]


def test_a_sound_on_one_channel_is_averaged_not_taken_for_cancelling(tmp_path):
    left = tone(1600, 16000, amplitude=0.5)
    soundfile.write(str(tmp_path / "left.wav"), np.stack([left, 0 * left], axis=1), 16000, subtype="FLOAT")
    audio, notes = read_wav(tmp_path / "left.wav", 16000, downmix=True)
    assert np.allclose(audio.numpy(), left / 2, atol=1e-7)
    assert notes[0].endswith("downmixed 2 channels to mono (mean of the channels)")


def test_empty_non_audio_and_non_finite_files_are_input_errors(tmp_path):
    soundfile.write(str(tmp_path / "empty.wav"), np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(InputError, match="empty"):
        read_wav(tmp_path / "empty.wav")
    (tmp_path / "text.wav").write_text("this is not audio\n")
    with pytest.raises(InputError, match="expected an audio file"):
        read_wav(tmp_path / "text.wav")
    soundfile.write(str(tmp_path / "nan.wav"), np.array([0.0, np.nan, 0.1], dtype=np.float32), 16000,
                    subtype="FLOAT")
    with pytest.raises(InputError, match="finite"):
        read_wav(tmp_path / "nan.wav")
    with pytest.raises(FileNotFoundError):
        read_wav(tmp_path / "missing.wav")


def test_fit_length_pads_and_truncates():
    audio = torch.arange(1, 6, dtype=torch.float32)
    assert fit_length(audio, 5) is audio
    assert fit_length(audio, 3).tolist() == [1, 2, 3]
    assert fit_length(audio, 7).tolist() == [1, 2, 3, 4, 5, 0, 0]
    assert fit_length(audio[None].repeat(2, 1), 6).shape == (2, 6)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000, 192000])
def test_reading_only_the_head_gives_the_same_samples(tmp_path, rate):
    """load_audio decodes only the first 4.088 s (+ the resampler's reach) of a long file: same samples as a
    whole-file read, and the truncation is said."""
    from synth.inputs import load_audio

    noise = (np.random.default_rng(rate).standard_normal(rate * 6) * 0.1).astype(np.float32)
    soundfile.write(tmp_path / "long.wav", noise, rate)
    whole, _ = read_wav(tmp_path / "long.wav", 16000)
    head, notes = load_audio(tmp_path / "long.wav")
    assert torch.equal(head, fit_length(whole, 65408))
    assert notes[-1].endswith("truncated 6.000 s to its first 4.088 s (65408 samples)")
