"""The short-targets benchmark's pieces: its one-shot makers (real fluidsynth / sox), its switch between the two
rankings and its summary (nothing here runs ``inverse predict``)."""

import math
import shutil

import pytest
import soundfile as sf
import torch

from benchmarks.external_sounds import drum_hits, missing_tools, single_note_midi, sox_one_shots
from benchmarks.short_sounds import RANKINGS, in_domain, ranking, summary
from synth import perceptual
from synth.inputs import load_audio
from synth.perceptual import features, match_distance, mss_distance, mss_weight, shape_distance
from synth.spectrogram import DEFAULT_CONFIG

T = torch.arange(DEFAULT_CONFIG.num_samples) / DEFAULT_CONFIG.sample_rate


def test_drum_notes_go_to_the_percussion_channel():
    data = single_note_midi(0, 38, seconds=1.0, channel=9)
    assert bytes([0xC9, 0]) in data and bytes([0x99, 38, 100]) in data and bytes([0x89, 38, 0]) in data


@pytest.mark.skipif(bool(missing_tools()), reason=f"needs sox, fluidsynth + fluid-soundfont-gm and espeak-ng "
                    f"(apt-get install sox fluidsynth fluid-soundfont-gm espeak-ng); missing: {missing_tools()}")
def test_one_shots_are_short_audible_and_deterministic(tmp_path):
    for make in (drum_hits, sox_one_shots):
        (name, path), = make(tmp_path / make.__name__, 1)
        assert sf.info(path).samplerate == 16000
        audio, _ = load_audio(path, downmix=True)  # Tensor[65408]: the window predict reads
        assert float(audio.abs().max()) > 0.05, name
        assert float(mss_weight(audio[None])) > 1.5, f"{name} sounds in most of the window"
        first = path.read_bytes()
        shutil.rmtree(tmp_path / make.__name__)
        make(tmp_path / make.__name__, 1)
        assert path.read_bytes() == first, f"{name} is not reproducible"


def test_the_plain_ranking_holds_the_weight_at_one_and_is_undone():
    hit = (0.5 * torch.exp(-T / 0.02) * (T < 0.08) * torch.sin(2 * math.pi * 440.0 * T))[None]
    other = (0.05 * torch.exp(-T / 0.03) * (T < 0.08) * torch.sin(2 * math.pi * 466.2 * T))[None]
    weighted = match_distance(other, hit)
    with ranking("plain MSS"):
        assert torch.equal(match_distance(other, hit), mss_distance(other, hit) + shape_distance(other, hit))
    with ranking(RANKINGS[0]):
        assert torch.equal(match_distance(other, hit), weighted)
    assert perceptual.mss_weight is mss_weight and torch.equal(match_distance(other, hit), weighted)
    assert float(weighted) > float(mss_distance(other, hit) + shape_distance(other, hit))


def test_in_domain_targets_are_the_short_held_out_patches(tmp_path):
    found = in_domain(tmp_path, 2, scan=20)
    assert len(found) == 2
    for name, path in found:
        audio, _ = sf.read(path, dtype="float32")
        assert name.startswith("row") and float(mss_weight(features(torch.from_numpy(audio)[None]))) > 1


def test_summary_pairs_the_rankings_per_set():
    def judged(mss: float, level: float) -> dict:
        return {"best_mss": mss, "first_level_db": level, "best_level_db": level, "diversity": 0.3,
                "all_within": True, "first_on_pitch": True, "on_pitch": 10}
    records = [{"set": "one-shots", "name": f"s{k}", "weight": 4.0, "target_hz": 440.0 if k == 0 else None,
                RANKINGS[0]: judged(0.09 + 0.01 * k, 3.0), RANKINGS[1]: judged(0.1 + 0.01 * k, 10.0)}
               for k in range(3)]
    s = summary(records)["one-shots"]
    assert s["targets"] == 3 and s["pitched"] == 1 and s["change"]["better"] == 3 and s["change"]["worse"] == 0
    assert s["change"]["mean"] == pytest.approx(0.30 / 0.33 - 1)
    assert s[RANKINGS[0]]["first_level_db_median"] == 3.0 and s[RANKINGS[1]]["on_pitch"] == 10
