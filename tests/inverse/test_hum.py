"""Mains hum: found in a recording's quiet part (50 or 60 Hz, its harmonics, frequency and level), or under a note held
through the whole file off the note's partials, subtracted as a model from any window of it, never found in a clean
note, a decaying partial at a multiple of 60 Hz, a held note alone (partials on the 50 Hz grid included) or synth
patches, and taken out by ``load_any_target`` unless ``gate_noise`` is off."""

import math

import pytest
import soundfile
import torch

from inverse.hum import find_hum, without_hum
from inverse.target import load_any_target
from synth.perceptual import features, mss_distance
from synth.prior import draw
from synth.voice import render

RATE = 16000


def pluck(seconds: float = 4.0, lead_s: float = 0.5, f0: float = 220.0) -> torch.Tensor:
    """A decaying sawtooth of ``f0`` Hz (peak ~0.7) after ``lead_s`` of silence, ``seconds`` long in all."""
    t = torch.arange(round((seconds - lead_s) * RATE), dtype=torch.float64) / RATE
    saw = sum(torch.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 20)) * torch.exp(-3.0 * t) * 0.4
    return torch.cat([torch.zeros(round(lead_s * RATE), dtype=torch.float64), saw])


def mains(samples: int, hz: float = 60.0, harmonics=((1, 1.0), (3, 0.4), (5, 0.25)), peak_db: float = -33.0,
          phase: float = 0.3) -> torch.Tensor:
    t = torch.arange(samples, dtype=torch.float64) / RATE
    tone = sum(gain * torch.sin(2 * math.pi * hz * k * t + phase * k) for k, gain in harmonics)
    return tone / tone.abs().max() * 10 ** (peak_db / 20)


@pytest.mark.parametrize("hz,grid,harmonics", [(60.0, 60.0, ((1, 1.0), (3, 0.4), (5, 0.25))),
                                               (50.03, 50.0, tuple((k, 1 / k) for k in range(1, 11)))])
def test_hum_is_found_and_subtracted_leaving_the_note(hz, grid, harmonics):
    note = pluck()
    hum = mains(note.numel(), hz, harmonics)
    found = find_hum(note + hum)
    assert found is not None and found.mains_hz == grid
    assert found.harmonics == tuple(k for k, _ in harmonics)
    assert abs(found.fundamental_hz - hz) < 0.002
    level = 10 * math.log10(2 * float(hum.square().mean()))  # re a full-scale sine
    assert abs(found.level_dbfs - level) < 1.0
    cleaned = without_hum((note + hum).float(), found)
    assert cleaned.dtype == torch.float32 and cleaned.shape == note.shape
    residual = 10 * math.log10(float((cleaned.double() - note).square().mean()))
    assert residual < level - 35  # the hum down by 35 dB or more, the note left as it was
    assert find_hum(cleaned) is None


def test_a_window_later_in_the_recording_is_subtracted_in_phase():
    note = pluck()
    recording = note + mains(note.numel())
    found = find_hum(recording)
    window = recording[20000:40000].float()
    cleaned = without_hum(window, found, start=20000)
    assert float((cleaned.double() - note[20000:40000]).abs().max()) < 1e-3  # the hum's peak is 2.2e-2
    shifted = without_hum(window, found, start=20000 + 67)  # the model out of phase: the hum is not taken out
    assert float((shifted.double() - note[20000:40000]).abs().max()) > 1e-2


def test_digital_silence_stays_silent():
    note = pluck()
    hummed = (note + mains(note.numel())).float()
    found = find_hum(hummed)
    padded = torch.cat([hummed, torch.zeros(8000)])  # a short file's zero padding after it
    cleaned = without_hum(padded, found)
    assert bool((cleaned[-8000:] == 0).all())
    assert float(cleaned[-8100:-8000].abs().max()) < 1e-3


def test_no_hum_in_clean_notes_decaying_partials_held_notes_or_patches():
    assert find_hum(pluck()) is None
    t = torch.arange(4 * RATE, dtype=torch.float64) / RATE
    bass = 0.8 * torch.sin(2 * math.pi * 120.0 * t) * torch.exp(-1.5 * t)  # a partial at 2 x 60 Hz, decaying
    assert find_hum(torch.cat([bass, torch.zeros(RATE)])) is None
    held = 0.5 * torch.sin(2 * math.pi * 220.0 * t)  # held through the file: no quiet part, read under the note
    assert find_hum(held) is None
    assert find_hum(held_saw()) is None  # partials 5, 10, 15 on the 50 Hz grid (550, 1100, 1650 Hz), steady
    assert find_hum(torch.zeros(3000)) is None
    patches = render(draw(11, 0, 16, prior="2"), path="eager")
    assert not any(find_hum(audio) is not None for audio in patches)


def held_saw(f0: float = 110.0, seconds: float = 4.2) -> torch.Tensor:
    """A sawtooth of ``f0`` Hz at a constant level (peak ~0.5) through the whole file: no quiet part."""
    t = torch.arange(round(seconds * RATE), dtype=torch.float64) / RATE
    return sum(torch.sin(2 * math.pi * f0 * k * t) / k for k in range(1, 30)) * 0.3


def test_hum_under_a_held_note_is_read_off_its_partials_and_subtracted():
    note = held_saw()  # A2: its 5th and 10th partials fall on the buzz's 11th and 22nd harmonics (550, 1100 Hz)
    hum = mains(note.numel(), 50.02, tuple((k, 1 / k) for k in range(1, 16)), peak_db=-30.0)
    found = find_hum(note + hum)
    assert found is not None and found.mains_hz == 50.0 and abs(found.fundamental_hz - 50.02) < 0.005
    assert 1 in found.harmonics and 11 not in found.harmonics  # 550 Hz is the note's: left, with the hum's share
    cleaned = without_hum((note + hum).float(), found).double()
    before = float(hum.square().mean())
    after = float((cleaned - note).square().mean())
    assert 10 * math.log10(after / before) < -10  # most of the hum gone ...
    spectrum = torch.fft.rfft(cleaned - note).abs()[: 2 * 1200]  # 0.24 Hz bins up to 1.2 kHz
    notes = torch.fft.rfft(note).abs()[: 2 * 1200]
    on_partials = notes > 0.01 * notes.max()
    assert float(spectrum[on_partials].max()) < 0.05 * float(notes[on_partials].min())  # ... the partials untouched


def test_load_any_target_takes_the_hum_out_unless_asked_to_keep_it(tmp_path):
    note = pluck().float()
    soundfile.write(tmp_path / "clean.wav", note.numpy(), RATE, subtype="FLOAT")
    soundfile.write(tmp_path / "hum.wav", (note + mains(note.numel()).float()).numpy(), RATE, subtype="FLOAT")
    clean, taken = load_any_target(tmp_path / "clean.wav"), load_any_target(tmp_path / "hum.wav")
    kept = load_any_target(tmp_path / "hum.wav", gate_noise=False)
    assert any("took out 60 Hz mains hum (60, 180, 300 Hz; -3" in n for n in taken.notes), taken.notes
    assert not any("mains hum" in n for n in clean.notes + kept.notes)
    assert taken.start_s == pytest.approx(clean.start_s, abs=0.01) and clean.start_s == pytest.approx(0.48, abs=0.01)
    assert kept.start_s == 0.0  # the hum, 30 dB under the note, reads as no lead-in
    assert float(mss_distance(taken.features, clean.features)) < 0.1 * float(
        mss_distance(features(kept.audio[None]), clean.features))
