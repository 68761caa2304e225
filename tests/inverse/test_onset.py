"""Onset alignment: an audio target is read from where its sound rises out of a lead-in of silence or steady noise,
and never from inside a sound that swells out of its own quiet start."""

import math

import pytest
import torch

from inverse.onset import HOP, PREROLL_FRAMES, lead_in
from inverse.target import load_any_target
from synth import render
from synth.audio_io import read_wav, write_wav
from synth.errors import InputError
from synth.image_io import write_png
from synth.prior import draw
from synth.spectrogram import DEFAULT_CONFIG

RATE = DEFAULT_CONFIG.sample_rate
N = DEFAULT_CONFIG.num_samples


def note(seconds: float = 2.0, hz: float = 220.0, attack_s: float = 0.005) -> torch.Tensor:
    """A decaying harmonic note peaking near -6 dBFS, with a linear attack."""
    t = torch.arange(int(seconds * RATE)) / RATE
    tone = sum(torch.sin(2 * math.pi * hz * k * t) / k for k in range(1, 6))
    return 0.3 * tone * torch.clamp(t / attack_s, max=1.0) * torch.exp(-t)


def late(sound: torch.Tensor, pad: int, noise_dbfs: float | None = None, seed: int = 0) -> torch.Tensor:
    out = torch.cat([torch.zeros(pad), sound])
    if noise_dbfs is not None:
        out = out + torch.randn(out.numel(), generator=torch.Generator().manual_seed(seed)) * 10 ** (noise_dbfs / 20)
    return out


@pytest.mark.parametrize("pad", [2400, 8000, 15000])
@pytest.mark.parametrize("noise_dbfs", [None, -70.0, -60.0])
def test_a_lead_in_of_silence_or_steady_noise_is_found_and_the_rise_kept_whole(pad, noise_dbfs):
    found = lead_in(late(note(), pad, noise_dbfs)[:N])
    assert found % HOP == 0
    # at most the pre-roll (and the frame the rise starts in) early; never a sample of the note cut
    assert pad - (PREROLL_FRAMES + 1) * HOP <= found <= pad, (found, pad)


def test_sounds_that_start_at_once_or_swell_out_of_their_own_quiet_start_have_no_lead_in():
    assert lead_in(note()[:N]) == 0
    assert lead_in(torch.zeros(N)) == 0 and lead_in(torch.zeros(100)) == 0
    # a swell: -65 dB rising smoothly to full level over a second, a slow attack or filter sweep
    t = torch.arange(N) / RATE
    swell = torch.sin(2 * math.pi * 330 * t) * 10 ** ((-65 + 65 * torch.clamp(t, max=1.0)) / 20)
    assert lead_in(swell) == 0
    # a quiet part only 20 dB below the loudest (a lead-in is at least 30 dB below) is part of the sound
    step = torch.cat([0.1 * note(0.3, attack_s=0.001), note(3.0)])[:N]
    assert lead_in(step) == 0
    # renders of the synth start at their note-on: none of these has a lead-in
    audio = render(draw(9, 1, 16, prior="2"))
    assert [lead_in(a) for a in audio] == [0] * 16


@pytest.mark.parametrize("click", [torch.tensor([0.5]), 0.5 * torch.hann_window(80, periodic=False),
                                   torch.tensor([0.03] + [0.0] * 1279 + [-0.4])])  # (two: 80 ms apart)
def test_a_click_before_the_sound_is_part_of_its_lead_in_and_named(click, tmp_path):
    audio = late(note(4.5), 8000)
    audio[: click.numel()] += click
    found = lead_in(audio[:N])
    assert 8000 - (PREROLL_FRAMES + 1) * HOP <= found <= 8000, found
    write_wav(tmp_path / "clicked.wav", audio, RATE, subtype="FLOAT")
    said = [n for n in load_any_target(tmp_path / "clicked.wav").notes if "lead-in" in n]
    assert len(said) == 1 and (", a click at 0.000 s in it)" in said[0] if click.numel() < 1000 else
                               ", clicks at 0.000, 0.080 s in it)" in said[0]), said


def test_a_blip_alone_or_a_short_sound_before_a_note_without_a_gap_has_no_lead_in():
    blip = torch.zeros(N)
    blip[:80] = 0.5 * torch.hann_window(80, periodic=False)  # 5 ms and nothing after it: the sound itself
    assert lead_in(blip) == 0
    # a 5 ms tick 20 ms before the note (less than the 48 ms a click is followed by): the sound's own start
    ticked = late(note(4.5), 400)
    ticked[:80] += 0.5 * torch.hann_window(80, periodic=False)
    assert lead_in(ticked[:N]) == 0
    # a 40 ms hit (a sound, longer than a click) before the note
    hit = late(note(4.5), 8000)
    hit[:640] += note(0.04)
    assert lead_in(hit[:N]) == 0


def test_a_sound_after_a_silent_window_is_read_from_its_start_and_silence_alone_is_still_refused(tmp_path):
    sound = note(2.0)
    write_wav(tmp_path / "late.wav", late(sound, 6 * RATE), RATE, subtype="FLOAT")  # 6 s of silence first
    target = load_any_target(tmp_path / "late.wav")
    assert 6.0 - 0.02 <= target.start_s <= 6.0 and float(target.audio.abs().max()) > 0.1
    assert any("skipped 5.984 s of silence before the sound" in n for n in target.notes), target.notes
    with pytest.raises(InputError, match="silent"):
        load_any_target(tmp_path / "late.wav", align=False)  # --no-align reads the first 4.088 s as they are
    write_wav(tmp_path / "silent.wav", torch.zeros(8 * RATE), RATE, subtype="FLOAT")
    with pytest.raises(InputError, match="silent.wav: the first 4.088 s are silent .*: there is nothing to match"):
        load_any_target(tmp_path / "silent.wav")
    # a sound after the 30 s searched: refused, with the option that reads it
    write_wav(tmp_path / "later.wav", late(sound, 31 * RATE), RATE, subtype="FLOAT")
    with pytest.raises(InputError, match=r"and so is the rest of its first 30 s: --start SECONDS reads from later"):
        load_any_target(tmp_path / "later.wav")
    assert load_any_target(tmp_path / "later.wav", start=30.0).start_s == pytest.approx(31.0, abs=0.02)


def test_a_wav_target_is_read_from_its_sound_with_a_note_and_as_it_is_without_align(tmp_path):
    sound = note(4.5)
    write_wav(tmp_path / "late.wav", late(sound, 8000), RATE, subtype="FLOAT")
    aligned = load_any_target(tmp_path / "late.wav")
    skip = lead_in(late(sound, 8000)[:N])
    assert 0 < skip <= 8000 and torch.equal(aligned.audio, late(sound, 8000)[skip: skip + N])  # 4.088 s of sound
    assert any(f"skipped {skip / RATE:.3f} s of lead-in" in line for line in aligned.notes), aligned.notes
    assert aligned.start_s == skip / RATE  # where in the file the matched sound begins (the answer's JSON says so)
    kept = load_any_target(tmp_path / "late.wav", align=False)
    assert torch.equal(kept.audio, late(sound, 8000)[:N]) and not any("skipped" in n for n in kept.notes)
    assert kept.start_s == 0.0
    started = load_any_target(tmp_path / "late.wav", start=0.25, align=False)
    assert torch.equal(started.audio, late(sound, 8000)[4000: 4000 + N]) and started.start_s == 0.25
    assert any("from 0.250 s on" in line for line in started.notes), started.notes


def test_start_reads_the_same_samples_as_a_whole_file_read_and_is_checked(tmp_path):
    audio = 0.5 * torch.sin(torch.arange(3 * 44100) * (2 * math.pi * 440 / 44100))
    write_wav(tmp_path / "a.wav", audio, 44100, subtype="FLOAT")
    whole, _ = read_wav(tmp_path / "a.wav", RATE)
    part, notes = read_wav(tmp_path / "a.wav", RATE, start=12345, max_samples=8000)
    assert torch.equal(part, whole[12345: 12345 + 8000]), notes
    with pytest.raises(InputError, match=r"a.wav: nothing to read from 3.500 s on: the file is 3.000 s long"):
        read_wav(tmp_path / "a.wav", RATE, start=56000)
    with pytest.raises(InputError, match=r"a.wav: nothing to read from 5.000 s on"):
        load_any_target(tmp_path / "a.wav", start=5.0)
    write_wav(tmp_path / "quiet_then.wav", torch.cat([torch.zeros(5 * RATE), note()]), RATE, subtype="FLOAT")
    with pytest.raises(InputError, match=r"the 4.088 s from 0.500 s are silent"):
        load_any_target(tmp_path / "quiet_then.wav", start=0.5, align=False)
    assert load_any_target(tmp_path / "quiet_then.wav", start=0.5).start_s == pytest.approx(5.0, abs=0.02)
    assert load_any_target(tmp_path / "quiet_then.wav", start=4.0).audio.abs().max() > 0.1
    write_png(tmp_path / "s.png", torch.full((512, 512), 128, dtype=torch.uint8).numpy())
    with pytest.raises(InputError, match="s.png: a start time applies to audio files"):
        load_any_target(tmp_path / "s.png", start=1.0)
