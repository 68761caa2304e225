"""The spectrogram contract: STFT layout and parity, dB reference level, normalisation, inversion."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pytest
import torch

from synth.audio_io import fit_length, read_wav
from synth.spectrogram import (
    DEFAULT_CONFIG,
    Spectrogram,
    SpectrogramConfig,
    db_to_normalized,
    dequantize,
    distance_db,
    normalized_to_db,
    quantize,
    spectrogram,
)

N = DEFAULT_CONFIG.num_samples
SR = DEFAULT_CONFIG.sample_rate


@pytest.fixture(scope="module")
def spec() -> Spectrogram:
    return Spectrogram()


def sine(freq_hz: float, amplitude: float = 1.0, phase: float = 0.0) -> torch.Tensor:
    t = torch.arange(N, dtype=torch.float64) / SR
    return (amplitude * torch.sin(2 * math.pi * freq_hz * t + phase)).to(torch.float32)


def test_config_defaults_and_json_round_trip():
    c = DEFAULT_CONFIG
    assert (c.sample_rate, c.n_fft, c.win_length, c.hop_length, c.frames, c.bins, c.db_range) == (
        16000, 1024, 1024, 128, 512, 512, 80.0)
    assert c.num_samples == 65408
    assert SpectrogramConfig.from_json(c.to_json()) == c
    other = SpectrogramConfig(hop_length=64, db_range=60)
    assert SpectrogramConfig.from_json(other.to_json()) == other


@pytest.mark.parametrize("change", [{"extra": 1}, {"hop_length": None}])
def test_config_from_json_rejects_unknown_and_missing_keys(change):
    data = DEFAULT_CONFIG.to_json()
    for key, value in change.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    with pytest.raises(ValueError, match="unknown keys|missing keys"):
        SpectrogramConfig.from_json(data)


def test_config_rejects_impossible_values():
    with pytest.raises(ValueError, match="bins"):
        SpectrogramConfig(bins=513)
    with pytest.raises(ValueError, match="integer"):
        SpectrogramConfig(hop_length=128.0)


def test_shapes_and_window_buffer(spec):
    audio = torch.zeros(3, N)
    assert spec.stft(audio).shape == (3, 512, 512)
    assert spec.stft(audio).is_complex()
    assert spec(audio).shape == (3, 512, 512)
    assert "window" in dict(spec.named_buffers())
    assert spec.reference_magnitude == pytest.approx(256.0)
    with pytest.raises(ValueError, match="65408"):
        spec(torch.zeros(2, N - 1))


def numpy_stft(x: np.ndarray) -> np.ndarray:
    """Centred STFT built by hand: zero-pad n_fft/2 both sides, periodic Hann, rfft, drop Nyquist."""
    n_fft, hop = 1024, 128
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    padded = np.concatenate([np.zeros(n_fft // 2), x, np.zeros(n_fft // 2)])
    frames = np.stack([padded[t * hop: t * hop + n_fft] * window for t in range(512)])
    return np.fft.rfft(frames, axis=1)[:, :512].T  # (bins, frames)


def test_stft_matches_numpy_reference(spec):
    rng = np.random.default_rng(0)
    audio = rng.uniform(-1, 1, size=(2, N))
    ours = spec.stft(torch.from_numpy(audio).float()).numpy()
    for row in range(2):
        reference = numpy_stft(audio[row])
        error = np.abs(ours[row] - reference).max() / np.abs(reference).max()
        assert error < 1e-4


def test_full_scale_sine_reads_zero_db_and_level_scales(spec):
    bin_index = 100
    for amplitude, expected_db in [(1.0, 0.0), (0.1, -20.0), (0.01, -40.0)]:
        level = spec.db(sine(DEFAULT_CONFIG.bin_hz(bin_index), amplitude)[None])[0]
        middle = level[:, 100:400]
        assert (middle.argmax(dim=0) == bin_index).all()
        assert middle[bin_index].mean().item() == pytest.approx(expected_db, abs=0.01)


def _sox_sine(tmp_path, rate: int):
    path = tmp_path / f"sine_{rate}.wav"
    # -D: no dither, so the file is reproducible; gain -n -6 normalises the peak to -6 dBFS.
    subprocess.run(["sox", "-D", "-n", "-r", str(rate), "-b", "16", "-c", "1", str(path),
                    "synth", "4.5", "sine", "1000", "gain", "-n", "-6"], check=True, capture_output=True)
    return path


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed (apt-get install sox)")
@pytest.mark.parametrize("rate", [16000, 44100])
def test_sox_sine_peak_bin_and_level(tmp_path, spec, rate):
    audio, notes = read_wav(_sox_sine(tmp_path, rate), SR)
    assert bool(notes) == (rate != SR)
    level = spec.db(fit_length(audio, N)[None])[0]
    middle = level[:, 50:450]  # away from the centred-STFT edges
    # 1000 Hz at 16 kHz with n_fft 1024: bin 1000 / (16000 / 1024) = 64, exactly on a bin centre.
    assert (middle.argmax(dim=0) == 64).all()
    expected_db = 20 * math.log10(10 ** (-6 / 20))  # peak-normalised sine at -6 dBFS
    assert middle[64].mean().item() == pytest.approx(expected_db, abs=0.5)
    # Hann sidelobes and 16-bit noise stay far below the tone.
    assert middle[80:].max().item() < expected_db - 60


def test_batch_invariance(spec):
    gen = torch.Generator().manual_seed(1)
    batch = torch.rand(8, N, generator=gen) * 2 - 1
    batch[3] = 0.0
    batch[5] = sine(1234.5, 0.3)
    together = spec(batch)
    for i in range(8):
        assert torch.equal(together[i], spec(batch[i: i + 1])[0])
        assert torch.equal(together[i], spec(batch[i]))


def test_quantized_is_the_stored_form_of_the_whole_batch_bit_for_bit(spec):
    """``quantized`` (a few rows at a time, in place) equals ``quantize`` of the whole batch's spectrogram, computed
    with the out-of-place, differentiable arithmetic, for a batch that is not a multiple of its row step."""
    gen = torch.Generator().manual_seed(4)
    batch = (torch.rand(7, N, generator=gen) * 2 - 1) * torch.logspace(-4, 0, 7)[:, None]
    batch[2] = sine(440.0, 0.7)
    batch[6] = 0.0
    reference = spec(batch.clone().requires_grad_(True)).detach()  # the whole batch, autograd's arithmetic
    assert torch.equal(spec(batch), reference)
    stored = spec.quantized(batch)
    assert stored.dtype == torch.uint8 and stored.shape == (7, 512, 512)
    assert torch.equal(stored, quantize(reference))
    assert torch.equal(spec.quantized(batch[2]), quantize(reference[2]))
    assert spec(batch.double()).dtype == torch.float64  # the float forms keep the audio's dtype


def test_silence_is_floor_without_nan(spec):
    audio = torch.zeros(2, N, requires_grad=True)
    level = spec.db(audio)
    assert torch.equal(level, torch.full_like(level, -80.0))
    assert torch.equal(spec(audio.detach()), torch.zeros(2, 512, 512))
    level.sum().backward()
    assert torch.isfinite(audio.grad).all()


def test_db_is_differentiable_and_matches_no_grad_path(spec):
    audio = (sine(700.0, 0.5) + 1e-3 * torch.randn(N, generator=torch.Generator().manual_seed(2)))[None]
    audio.requires_grad_(True)
    level = spec.db(audio)
    level.mean().backward()
    assert torch.isfinite(audio.grad).all() and audio.grad.abs().sum() > 0
    with torch.no_grad():  # the in-place no-grad path does the same arithmetic
        assert torch.equal(spec.db(audio), level.detach())
        assert torch.equal(spec(audio), spec.forward(audio.detach().requires_grad_(True)))


def test_stft_istft_round_trip(spec):
    # Sines well below Nyquist, faded in and out: no step at the ends, so (almost) no energy at the Nyquist
    # bin that the spectrogram drops. (Abrupt ends would leave errors of ~1e-4 near them.)
    audio = sine(220.0, 0.3) + sine(1337.0, 0.2, 1.0) + sine(5100.0, 0.1, 2.0)
    fade = torch.sin(torch.linspace(0, math.pi / 2, 2048)) ** 2
    audio[:2048] *= fade
    audio[-2048:] *= fade.flip(0)
    audio = audio[None].repeat(2, 1)
    audio[1] *= -0.5
    stft = spec.stft(audio)
    back = spec.istft(stft.abs(), stft.angle())
    assert back.shape == (2, N)
    assert (back - audio).abs().max().item() < 1e-4


def test_normalisation_helpers_are_inverse():
    level = torch.linspace(-80, 0, 101)
    v = db_to_normalized(level)
    assert v.min() == 0.0 and v.max() == 1.0
    assert torch.allclose(normalized_to_db(v), level, atol=1e-5)


def test_quantize_dequantize_round_trip():
    every = torch.arange(256, dtype=torch.uint8)
    assert torch.equal(quantize(dequantize(every)), every)
    assert np.array_equal(quantize(dequantize(every.numpy())), every.numpy())
    v = torch.rand(1000, generator=torch.Generator().manual_seed(3))
    assert (dequantize(quantize(v)) - v).abs().max() <= 0.5 / 255 + 1e-7
    assert np.array_equal(quantize(v.numpy()), quantize(v).numpy())
    assert quantize(torch.tensor([-0.5, 1.5])).tolist() == [0, 255]
    assert dequantize(every).dtype == torch.float32


def test_distance_db():
    a = torch.full((512, 512), -20.0)
    b = torch.full((3, 512, 512), -30.0)
    b[1] = -20.0
    assert distance_db(a, a).shape == ()
    assert distance_db(a, a).item() == 0.0
    assert distance_db(a, b).tolist() == pytest.approx([10.0, 0.0, 10.0])
    with pytest.raises(ValueError):
        distance_db(a, torch.zeros(511, 512))


def test_convenience_function_matches_module(spec):
    audio = sine(3000.0, 0.25)[None]
    assert torch.equal(spectrogram(audio), spec(audio))
    assert spectrogram(audio.double()).dtype == torch.float64
