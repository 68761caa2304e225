"""The inverse benchmark's baselines and out-of-domain sound makers (real sox / fluidsynth / espeak-ng)."""

import hashlib
import math
import shutil

import pytest
import soundfile as sf
import torch

from benchmarks import inverse_quality as iq
from benchmarks.external_sounds import espeak_phrases, fluidsynth_notes, missing_tools, single_note_midi, sox_notes
from benchmarks.inverse_quality import NearestBaseline, param_noise_pool
from dataset_gen.generate import GenerateOptions, generate
from dataset_gen.reader import SpectrogramDataset
from inverse.flow import file_sha256
from synth.params import DISCRETE_INDICES, canonicalize
from synth.prior import draw
from synth.spectrogram import dequantize


def test_param_noise_matches_the_latent_pools_spread_and_snaps_discrete_values():
    point = canonicalize(draw(1, 0, 1))[0]
    latent_pool = torch.cat([point[None], (point + 0.05 * torch.randn(255, 100)).clamp(0, 1)])
    pool = param_noise_pool(point, latent_pool, seed=3)
    assert pool.shape == latent_pool.shape and torch.equal(pool[0], point)
    assert torch.equal(pool, canonicalize(pool)) and float(pool.min()) >= 0 and float(pool.max()) <= 1
    target_spread = float((latent_pool[1:] - point).abs().mean())
    continuous = [i for i in range(100) if i not in DISCRETE_INDICES]
    spread = float((pool[1:, continuous] - point[continuous]).abs().mean())
    assert math.isclose(spread, float((latent_pool[1:, continuous] - point[continuous]).abs().mean()), rel_tol=0.2)
    assert target_spread > 0
    assert torch.equal(param_noise_pool(point, latent_pool, seed=3), pool)


def test_nearest_neighbours_find_a_training_row_itself(tmp_path):
    path = tmp_path / "train.h5"
    generate(GenerateOptions(num_rows=6, out=path, seed=21, batch_size=6), progress=False)
    nearest = NearestBaseline(path, components=4, rows=None, progress=False)
    spec, params = SpectrogramDataset(path, audio=False, as_uint8=True)[2]
    found = nearest.query(dequantize(spec[0]).float(), k=3)
    assert found.shape == (3, 100) and torch.equal(found[0], params)


@pytest.mark.skipif(bool(missing_tools()), reason=f"needs sox, fluidsynth + fluid-soundfont-gm and espeak-ng "
                    f"(apt-get install sox fluidsynth fluid-soundfont-gm espeak-ng); missing: {missing_tools()}")
def test_external_sounds_are_audible_and_deterministic(tmp_path):
    for make in (sox_notes, fluidsynth_notes, espeak_phrases):
        (name, path), = make(tmp_path / make.__name__, 1)
        audio, rate = sf.read(path)
        assert rate in (16000, 22050) and len(audio) > rate and abs(audio).max() > 0.05, name
        first = path.read_bytes()
        shutil.rmtree(tmp_path / make.__name__)
        make(tmp_path / make.__name__, 1)
        assert path.read_bytes() == first, f"{name} is not reproducible"


def test_midi_file_structure():
    data = single_note_midi(program=24, note=60, seconds=2.5)
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk" and data.endswith(b"\xff\x2f\x00")
    assert bytes([0xC0, 24]) in data and bytes([0x90, 60, 100]) in data and bytes([0x80, 60, 0]) in data


def test_kept_records_are_keyed_by_the_weights_bytes_not_their_path(tmp_path):
    data = bytes(range(256)) * 12_000
    first, second = tmp_path / "a.safetensors", tmp_path / "elsewhere.safetensors"
    first.write_bytes(data)
    second.write_bytes(data)
    assert file_sha256(first) == file_sha256(second) == hashlib.sha256(data).hexdigest()[:16]
    second.write_bytes(data[:-1] + b"x")  # a retrained model at the same path
    assert file_sha256(second) != file_sha256(first)


def test_records_of_another_flow_are_never_kept(tmp_path):
    for name in ("model", "flow", "other_flow"):
        (tmp_path / f"{name}.safetensors").write_bytes(name.encode() * 1000)
    base = ["--train", "t.h5", "--targets", "x.h5", "--model", str(tmp_path / "model"), "--index", str(tmp_path / "i")]
    without = iq.record_settings(iq.parse_args(base), "train", "targets")
    assert "flow" not in without  # records written before flows existed keep their settings
    with_flow = iq.record_settings(iq.parse_args([*base, "--flow", str(tmp_path / "flow")]), "train", "targets")
    other = iq.record_settings(iq.parse_args([*base, "--flow", str(tmp_path / "other_flow")]), "train", "targets")
    assert with_flow["flow"] != other["flow"] and with_flow != without
    assert {k: v for k, v in with_flow.items() if k != "flow"} == without


def test_records_name_the_render_build_of_each_method():
    """A resume on another machine adds methods made by another build: merged records keep each method's."""
    lines = [{"invocation": {}}, {"group": "g", "name": "row0", "methods": {"nearest": {}}, "render_build": "A"},
             {"group": "g", "name": "row0", "methods": {"hybrid": {}}, "render_build": "B"},
             {"group": "g", "name": "row1", "methods": {"hybrid": {}}}]  # a line from before builds were recorded
    row0, row1 = iq.merge_records(lines)
    assert row0["render_build"] == {"nearest": "A", "hybrid": "B"} and "render_build" not in row1


def test_render_build_names_the_fast_render_entries_or_the_cpu():
    from benchmarks.common import render_build
    from synth import fast_render

    assert render_build("fast").split() == [fast_render.entry_dir(kind).name for kind in fast_render.KINDS]
    key = fast_render.cache_key()
    assert render_build("eager") == f"eager-{key['cpu_capability']}-{key['cpu_flags']}"
