"""Spectrogram PNGs: byte-exact round trip, orientation, 16-bit input and the errors for other images."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from synth.errors import InputError
from synth.image_io import read_png, write_png
from synth.spectrogram import DEFAULT_CONFIG, quantize, spectrogram


@pytest.fixture
def u8() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(512, 512), dtype=np.uint8)


def test_round_trip_is_byte_identical(tmp_path, u8):
    write_png(tmp_path / "a.png", u8)
    back = read_png(tmp_path / "a.png")
    assert back.dtype == np.uint8 and back.shape == (512, 512)
    assert np.array_equal(back, u8)
    write_png(tmp_path / "b.png", torch.from_numpy(back))
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_file_is_8_bit_grayscale_with_highest_bin_in_row_0(tmp_path, u8):
    write_png(tmp_path / "a.png", u8)
    with Image.open(tmp_path / "a.png") as image:
        assert (image.format, image.mode, image.size) == ("PNG", "L", (512, 512))
        pixels = np.asarray(image)
    assert np.array_equal(pixels[0], u8[511])
    assert np.array_equal(pixels[511], u8[0])


def test_high_tone_appears_near_the_top(tmp_path):
    high_bin = 448  # 7000 Hz
    t = torch.arange(DEFAULT_CONFIG.num_samples, dtype=torch.float64) / DEFAULT_CONFIG.sample_rate
    audio = (0.5 * torch.sin(2 * math.pi * DEFAULT_CONFIG.bin_hz(high_bin) * t)).float()
    write_png(tmp_path / "tone.png", quantize(spectrogram(audio[None]))[0])
    with Image.open(tmp_path / "tone.png") as image:
        rows = np.asarray(image).astype(np.int64).sum(axis=1)
    assert rows.argmax() == 511 - high_bin
    assert rows.argmax() < 100


def test_16_bit_png_is_scaled_to_8_bits(tmp_path, u8):
    wide = u8[::-1].astype(np.uint16) * 257
    wide[0, 0] = 128  # round(128 / 257) = 0
    wide[0, 1] = 129  # round(129 / 257) = 1
    Image.fromarray(wide).save(tmp_path / "wide.png")
    assert (tmp_path / "wide.png").read_bytes()[24] == 16  # IHDR bit depth: really a 16-bit PNG
    notes: list[str] = []
    back = read_png(tmp_path / "wide.png", notes=notes)
    expected = u8.copy()
    expected[511, 0], expected[511, 1] = 0, 1
    assert np.array_equal(back, expected)
    assert "16-bit" in notes[0]


def test_wrong_size_is_an_input_error(tmp_path):
    Image.new("L", (640, 480)).save(tmp_path / "big.png")
    with pytest.raises(InputError, match=r"expected a 512x512 grayscale PNG.*got a 640x480 L PNG image"):
        read_png(tmp_path / "big.png")


def test_colour_is_an_input_error_unless_converted(tmp_path, u8):
    rgb = np.stack([u8[::-1]] * 3, axis=-1)
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "rgb.png")
    with pytest.raises(InputError, match=r"expected a 512x512 grayscale PNG.*RGB") as info:
        read_png(tmp_path / "rgb.png")
    assert "\n" not in str(info.value)
    notes: list[str] = []
    assert np.array_equal(read_png(tmp_path / "rgb.png", convert=True, notes=notes), u8)
    assert "converted RGB to grayscale" in notes[0]


def test_convert_resizes(tmp_path):
    Image.new("RGB", (640, 480), (200, 200, 200)).save(tmp_path / "big.png")
    notes: list[str] = []
    back = read_png(tmp_path / "big.png", convert=True, notes=notes)
    assert back.shape == (512, 512) and (back == 200).all()
    assert any("resized 640x480 to 512x512" in note for note in notes)


def test_non_image_and_missing_files(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(InputError, match="expected a 512x512 grayscale PNG.*not a readable image"):
        read_png(tmp_path / "text.png")
    with pytest.raises(FileNotFoundError):
        read_png(tmp_path / "missing.png")


def test_write_rejects_wrong_dtype(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "x.png", np.zeros((512, 512), dtype=np.float32))
