"""Target loading: PNG, WAV and .npy all give the same normalised spectrogram; anything else is refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from synth.audio_io import write_wav
from synth.errors import InputError
from synth.image_io import write_png
from synth.inputs import load_audio, load_target
from synth.spectrogram import DEFAULT_CONFIG, dequantize, quantize, spectrogram

N = DEFAULT_CONFIG.num_samples


@pytest.fixture(scope="module")
def audio() -> torch.Tensor:
    t = torch.arange(N, dtype=torch.float64) / DEFAULT_CONFIG.sample_rate
    return (0.4 * torch.sin(2 * math.pi * 440.0 * t) * torch.exp(-t)).float()


def test_wav_png_and_npy_targets_agree(tmp_path, audio):
    write_wav(tmp_path / "t.wav", audio, subtype="FLOAT")
    from_wav, notes = load_target(tmp_path / "t.wav")
    assert notes == []
    assert from_wav.shape == (512, 512) and from_wav.dtype == torch.float32
    assert torch.equal(from_wav, spectrogram(audio[None])[0])

    u8 = quantize(from_wav).numpy()
    write_png(tmp_path / "t.png", u8)
    np.save(tmp_path / "t8.npy", u8)
    np.save(tmp_path / "tf.npy", from_wav.numpy().astype(np.float64))
    from_png, _ = load_target(tmp_path / "t.png")
    assert torch.equal(from_png, torch.from_numpy(dequantize(u8)))
    assert torch.equal(load_target(tmp_path / "t8.npy")[0], from_png)
    assert torch.equal(load_target(tmp_path / "tf.npy")[0], from_wav)


def test_short_audio_is_padded_with_a_note(tmp_path, audio):
    write_wav(tmp_path / "short.wav", audio[:16000])
    padded, notes = load_audio(tmp_path / "short.wav")
    assert padded.shape == (N,) and (padded[16000:] == 0).all()
    assert "zero-padded 1.000 s" in notes[0]


def test_bad_npy_files(tmp_path):
    np.save(tmp_path / "shape.npy", np.zeros((512, 256), dtype=np.uint8))
    np.save(tmp_path / "range.npy", np.full((512, 512), 1.5))
    np.save(tmp_path / "int.npy", np.zeros((512, 512), dtype=np.int32))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for name, found in [("shape", r"shape \(512, 256\)"), ("range", "outside"), ("int", "int32"),
                        ("obj", "could not load")]:
        with pytest.raises(InputError, match=rf"expected a \(512, 512\) uint8 array.*{found}"):
            load_target(tmp_path / f"{name}.npy")


def test_unknown_suffix(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"\0")
    with pytest.raises(InputError, match=r"expected a spectrogram \(\.png, \.npy\) or audio \(\.wav, \.flac, .*\.mp3.*"
                                         r"file, got '\.txt'"):
        load_target(tmp_path / "x.txt")


def test_other_audio_formats_load_like_wav(tmp_path):
    """FLAC and Ogg (whatever libsndfile decodes) are targets too: FLAC is lossless, so the same spectrogram."""
    audio = np.round(9000 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.int16)
    soundfile.write(tmp_path / "a.wav", audio, 16000, subtype="PCM_16")
    soundfile.write(tmp_path / "a.flac", audio, 16000, subtype="PCM_16")
    soundfile.write(tmp_path / "a.ogg", audio, 16000)
    wav, _ = load_target(tmp_path / "a.wav")
    assert torch.equal(load_target(tmp_path / "a.flac")[0], wav)
    assert (load_target(tmp_path / "a.ogg")[0] - wav).abs().mean() < 0.02
    (tmp_path / "fake.mp3").write_bytes(b"\0" * 100)
    with pytest.raises(InputError, match="fake.mp3: expected an audio file"):
        load_target(tmp_path / "fake.mp3")


def test_directory_is_refused_as_such(tmp_path):
    (tmp_path / "spec.png").mkdir()
    for path in (tmp_path, tmp_path / "spec.png"):
        with pytest.raises(InputError, match=r"expected a file, got a directory$"):
            load_target(path)
    with pytest.raises(FileNotFoundError):
        load_target(tmp_path / "missing.png")


def test_wrong_image_names_the_convert_option(tmp_path):
    Image.new("RGB", (640, 480)).save(tmp_path / "big.png")
    with pytest.raises(InputError, match=r"got a 640x480 RGB PNG image \(pass --convert to convert colour and "
                                         r"resize\)"):
        load_target(tmp_path / "big.png")
