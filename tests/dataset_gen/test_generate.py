"""Generation: layout, determinism, resume after interruption (in-process and kill -9), bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from dataset_gen.generate import GenerateOptions, generate
from dataset_gen.layout import FORMAT_VERSION, Shard, canonical_json, partial_path
from dataset_gen.reader import SpectrogramDataset
from synth import render
from synth.errors import InputError
from synth.params import SYNTH_VERSION, spec_json
from synth.prior import LATEST_PRIOR, draw
from synth.spectrogram import DEFAULT_CONFIG, Spectrogram, quantize

REPO = Path(__file__).resolve().parents[2]


class Interrupt(Exception):
    """Stands in for Ctrl-C or a lost machine in the middle of a run."""


def interrupt_after(rows: int):
    def on_batch(rendered: int) -> None:
        if rendered >= rows:
            raise Interrupt
    return on_batch


def test_layout_and_attributes(ds, reference):
    with h5py.File(reference, "r") as f:
        assert sorted(f) == ["audio", "params", "spectrograms"]
        assert (f["params"].shape, f["params"].dtype) == ((ds.N, 100), np.float32)
        spectrograms = f["spectrograms"]
        assert (spectrograms.shape, spectrograms.dtype) == ((ds.N, 512, 512), np.uint8)
        assert spectrograms.chunks == (1, 512, 512) and spectrograms.compression == "lzf"
        assert (f["audio"].shape, f["audio"].dtype) == ((ds.N, DEFAULT_CONFIG.num_samples), np.float16)
        a = dict(f.attrs)
        assert a["format_version"] == FORMAT_VERSION and a["synth_version"] == SYNTH_VERSION
        assert a["param_spec"] == canonical_json(spec_json())
        assert json.loads(a["spectrogram_config"]) == DEFAULT_CONFIG.to_json()
        assert (a["seed"], a["sampler"], a["prior"], a["total_rows"], a["row_start"], a["row_stop"]) == \
            (ds.SEED, "uniform", LATEST_PRIOR, ds.N, 0, ds.N)
        assert (a["complete"], a["complete_rows"], a["compression"], a["audio_dtype"], a["render_device"],
                a["render_path"]) == (1, ds.N, "lzf", "float16", "cpu", "fast")
        params, row, audio = f["params"][()], f["spectrograms"][4], f["audio"][4]
    assert not partial_path(reference).exists()
    # Row i is the prior's row i, rendered alone (batch of one) by the synth (on the fast path, the default)
    # and the spectrogram.
    assert np.array_equal(params, draw(ds.SEED, 0, ds.N, prior=LATEST_PRIOR).numpy())
    with torch.no_grad():
        alone = render(torch.from_numpy(params[4:5]), path="fast")
        expected = quantize(Spectrogram(DEFAULT_CONFIG)(alone))[0].numpy()
    assert np.array_equal(row, expected)
    assert np.array_equal(audio, alone[0].to(torch.float16).numpy())


def test_same_content_whatever_the_batch_size_and_thread_count(ds, reference, tmp_path):
    # The reference was rendered in batches of 3 with one thread.
    other = ds.make(tmp_path / "one_batch_two_threads.h5", batch_size=ds.N, threads=2, audio_dtype="float16")
    ds.assert_same_content(reference, other)


def test_interrupted_run_resumes_to_the_same_content(ds, reference, tmp_path):
    out = tmp_path / "resumed.h5"
    options = GenerateOptions(num_rows=ds.N, out=out, seed=ds.SEED, batch_size=3, audio_dtype="float16")
    with pytest.raises(Interrupt):
        generate(options, progress=False, on_batch=interrupt_after(6))
    # Only the temporary file exists, and nothing takes it for a complete dataset.
    partial = partial_path(out)
    assert not out.exists() and partial.exists()
    with h5py.File(partial, "r") as f:
        assert (f.attrs["complete"], f.attrs["complete_rows"]) == (0, 6)
    with pytest.raises(InputError, match="incomplete dataset .6 of 8 rows"):
        SpectrogramDataset(partial)
    # The same arguments (any batch size) continue from row 6.
    summary = generate(GenerateOptions(num_rows=ds.N, out=out, seed=ds.SEED, batch_size=4, audio_dtype="float16"),
                       progress=False)
    assert (summary.resumed_from, summary.rows_rendered, summary.rows) == (6, 2, ds.N)
    assert not partial.exists()
    ds.assert_same_content(reference, out)


def test_kill_9_mid_run_then_rerun_gives_the_same_content(ds, reference, tmp_path):
    out = tmp_path / "killed.h5"
    partial = partial_path(out)
    command = [sys.executable, "-m", "dataset_gen", "--n", str(ds.N), "--out", str(out), "--seed", str(ds.SEED),
               "--batch-size", "1", "--audio", "--threads", "2", "--quiet"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while ds.complete_rows(partial) < 3:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert not out.exists() and partial.exists()
    warnings: list[str] = []
    summary = generate(GenerateOptions(num_rows=ds.N, out=out, seed=ds.SEED, batch_size=5, audio_dtype="float16"),
                       progress=False, warn=warnings.append)
    assert warnings == [] and summary.resumed_from >= 3
    ds.assert_same_content(reference, out)


def test_existing_output_is_kept_unless_overwrite(ds, tmp_path):
    out = tmp_path / "exists.h5"
    out.write_bytes(b"keep me")
    with pytest.raises(InputError, match="already exists; pass --overwrite"):
        ds.make(out, n=2)
    assert out.read_bytes() == b"keep me" and not partial_path(out).exists()
    ds.make(out, n=2, overwrite=True)
    assert ds.content(out)["params"].shape == (2, 100)


def test_partial_file_of_another_run_is_not_resumed(ds, tmp_path):
    out = tmp_path / "other.h5"
    with pytest.raises(Interrupt):
        generate(GenerateOptions(num_rows=2, out=out, seed=1, batch_size=1), progress=False,
                 on_batch=interrupt_after(1))
    before = partial_path(out).read_bytes()
    with pytest.raises(InputError, match=r"other settings \(seed 1 vs 2\).*--overwrite"):
        ds.make(out, n=2, seed=2)
    assert partial_path(out).read_bytes() == before
    ds.make(out, n=2, seed=2, overwrite=True)  # starts over
    assert np.array_equal(ds.content(out)["params"], draw(2, 0, 2, prior=LATEST_PRIOR).numpy())


def test_unreadable_partial_file_starts_over(ds, tmp_path):
    out = tmp_path / "garbage.h5"
    partial_path(out).write_bytes(b"not an HDF5 file at all")
    warnings: list[str] = []
    summary = generate(GenerateOptions(num_rows=2, out=out), progress=False, warn=warnings.append)
    assert summary.resumed_from == 0 and len(warnings) == 1 and "starting over" in warnings[0]
    assert np.array_equal(ds.content(out)["params"], draw(0, 0, 2, prior=LATEST_PRIOR).numpy())


@pytest.mark.parametrize(("changes", "message"), [
    ({"num_rows": 0}, "--n must be a positive number of rows, got 0"),
    ({"num_rows": -3}, "--n must be a positive number of rows, got -3"),
    ({"batch_size": 0}, "--batch-size must be at least 1"),
    ({"seed": -1}, "--seed must be in"),
    ({"sampler": "grid"}, "--sampler must be one of uniform, sobol"),
    ({"compression": "zstd"}, "--compression must be one of lzf, gzip, none"),
    ({"num_rows": 3, "shard": Shard(0, 4)}, "cannot split 3 rows into 4 shards"),
    ({"device": "cuda:7" if torch.cuda.is_available() else "cuda"}, "--device cuda"),
    ({"device": "tpu"}, "device"),
])
def test_bad_options_are_refused_before_anything_is_written(tmp_path, changes, message):
    out = tmp_path / "bad.h5"
    options = {"num_rows": 4, "out": out, **changes}
    with pytest.raises(InputError, match=message):
        generate(GenerateOptions(**options), progress=False)
    assert list(tmp_path.iterdir()) == []


def test_shard_spec_parsing():
    assert Shard.parse("3/4") == Shard(3, 4) and Shard.parse(" 0 / 1 ") == Shard(0, 1)
    for text, message in [("5/4", "index must be in 0..3"), ("4/4", "index must be in 0..3"),
                          ("1/0", "at least 1"), ("-1/4", "not of the form"), ("a/b", "not of the form"),
                          ("3", "not of the form")]:
        with pytest.raises(InputError, match=message):
            Shard.parse(text)


@pytest.mark.parametrize("num_rows", [1, 7, 12, 1000, 1001])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 7])
def test_shards_partition_the_rows(num_rows, count):
    if count > num_rows:
        return
    ranges = [Shard(i, count).rows(num_rows) for i in range(count)]
    assert ranges[0][0] == 0 and ranges[-1][1] == num_rows
    assert all(a[1] == b[0] for a, b in pairwise(ranges))
    assert all(stop > start for start, stop in ranges)


def test_unwritable_output_path(ds, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(InputError, match="cannot write"):
        ds.make(blocker / "x.h5", n=2)
    assert blocker.read_text() == ""


def test_output_that_is_a_directory(ds, tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        ds.make(tmp_path, n=2)
