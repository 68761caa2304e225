"""The short-pitch, high-pitch and noise-floor benchmarks' pieces: their sound makers (real sox / fluidsynth), the
switches between the two ways of tracking pitch, the added noise's level and the summaries (nothing here runs
predict)."""

import math

import pytest
import soundfile as sf
import torch

import inverse.pitch_check
import inverse.target
from benchmarks.external_sounds import missing_tools, sox_blips, staccato_notes, tracker_blips, unpitched_bursts
from benchmarks.noise_floor import WAYS as FLOOR_WAYS
from benchmarks.noise_floor import noise
from benchmarks.noise_floor import summary as floor_summary
from benchmarks.short_pitch import WAYS, coarse_pitch, summary, tracking
from synth.pitch import estimate_pitch

needs_tools = pytest.mark.skipif(bool(missing_tools()), reason=f"needs sox, fluidsynth + fluid-soundfont-gm and "
                                 f"espeak-ng (.ci/run installs them); missing: {missing_tools()}")


@needs_tools
def test_blips_and_staccato_notes_are_short_and_at_their_note(tmp_path):
    made = sox_blips(tmp_path / "blips", 2) + staccato_notes(tmp_path / "staccato", 1) + tracker_blips(tmp_path / "t")
    assert len(made) == 3 + 46 and len(unpitched_bursts(tmp_path / "bursts")) == 15
    (name, path, f0), = made[1:2]
    assert name == "sox_blip_square_A3_60ms" and f0 == pytest.approx(220.0)
    audio, rate = sf.read(path, dtype="float32")
    assert rate == 16000 and 0.05 * rate < len(audio) <= 0.07 * rate
    assert made[2][2] == pytest.approx(440.0 * 2 ** ((50 - 69) / 12))  # the MIDI note's pitch


def test_the_coarse_way_tracks_at_20_ms_only_and_is_undone():
    t = torch.arange(65408) / 16000
    blip = 0.3 * torch.sign(torch.sin(2 * math.pi * 523.25 * t)) * (t < 0.05)
    assert bool(estimate_pitch(blip[None]).clear[0]) and not bool(coarse_pitch(blip[None]).clear[0])
    with tracking(WAYS[1]):
        assert inverse.target.estimate_pitch is coarse_pitch and inverse.pitch_check.estimate_pitch is coarse_pitch
    assert inverse.target.estimate_pitch is estimate_pitch and inverse.pitch_check.estimate_pitch is estimate_pitch


def test_the_added_noise_has_its_level_and_the_summaries_pair_targets():
    for kind in ("white", "pink"):
        floor = noise(kind, -50.0, 0)
        assert 10 * math.log10(float(floor.double().square().mean()) / 0.5) == pytest.approx(-50.0, abs=1e-3)
    assert not torch.equal(noise("white", -50.0, 0), noise("white", -50.0, 1))
    judged = {WAYS[0]: {"best_mss": 0.5, "target_clear": True, "diversity": 0.3, "all_within": True, "seconds": 1.0,
                        "first_on_pitch": True, "on_pitch": 9, "octave_errors": 0}}
    records = [{"set": "blips", "name": "a", "f0_hz": 440.0, **judged,
                WAYS[1]: {**judged[WAYS[0]], "best_mss": 1.0, "on_pitch": 3}}]
    s = summary(records)["blips"]
    assert s["change"]["mean"] == pytest.approx(-0.5) and s["change"]["better"] == 1
    assert s[WAYS[0]]["on_pitch"] == 9 and s[WAYS[1]]["on_pitch"] == 3
    kept, gated = FLOOR_WAYS
    floors = [{"name": "n", "clean_hz": None, "clean_floor": None,
               kept: {"best_mss": 2.0, "notes": [], "first_on_pitch": None, "on_pitch": None},
               gated: {"best_mss": 0.5, "notes": ["x: gated out a steady noise floor at -50 dBFS"],
                       "first_on_pitch": None, "on_pitch": None}}]
    s = floor_summary(floors)
    assert s["gated"] == 1 and s["change"]["mean"] == pytest.approx(-0.75) and s["change"]["worse"] == 0


@needs_tools
def test_high_notes_are_at_their_note_and_the_crepe_only_way_is_undone(tmp_path):
    from benchmarks.external_sounds import high_notes
    from benchmarks.high_pitch import WAYS as HIGH_WAYS
    from benchmarks.high_pitch import tracking as high_tracking

    made = high_notes(tmp_path)
    assert len(made) == 32 and made[0][0] == "sox_sine_C7" and made[-1][0] == "fluidsynth_gm079_n101"
    audio = torch.stack([torch.from_numpy(sf.read(path, dtype="float32")[0][:65408]) for _, path, _ in made[:1]])
    audio = torch.nn.functional.pad(audio, (0, 65408 - audio.shape[1]))
    assert bool(estimate_pitch(audio).clear[0]) and float(estimate_pitch(audio).f0_hz[0]) == pytest.approx(2093.0, 0.01)
    with high_tracking(HIGH_WAYS[1]):
        assert not bool(estimate_pitch(audio).clear[0])
    assert bool(estimate_pitch(audio).clear[0])
