"""Render workers (``--workers``): the same bytes as one process on both render paths (the fast path's workers run
its one-CPU build, built here on first use, ~45 s once per machine), a resume across worker counts, a worker's
error as one line, the worker counts that cannot run, and rows filtered in a worker (compressed and checksummed
there) reading back as written."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from dataset_gen.chunks import stored
from dataset_gen.generate import GenerateOptions, generate
from dataset_gen.layout import partial_path, row_chunks
from dataset_gen.render_workers import auto_workers, check_workers, usable_cpus
from dataset_gen.rendering import ExampleRenderer, RenderedBatch
from dataset_gen.verify import verify
from synth.errors import InputError

two_cpus = pytest.mark.skipif(len(usable_cpus()) < 2, reason="render workers need two CPUs this process may use; "
                              "this machine lets it use one")


class Interrupt(Exception):
    """Stands in for Ctrl-C in the middle of a run."""


@two_cpus
@pytest.mark.parametrize("render", ["fast", "eager"])
def test_workers_write_the_bytes_one_process_writes(ds, tmp_path, render):
    # float32 audio: the one-CPU build's audio must equal the machine's build bit for bit, not only after rounding.
    alone = ds.make(tmp_path / "alone.h5", batch_size=3, audio_dtype="float32", render=render)
    workers = ds.make(tmp_path / "workers.h5", batch_size=3, audio_dtype="float32", render=render, workers=2)
    ds.assert_same_content(alone, workers)
    with h5py.File(workers, "r") as f:
        assert f.attrs["render_path"] == render
    report = verify(workers, all_rows=True)  # re-rendered in this process, on the recorded path
    assert report.ok and report.rows_rerendered == ds.N, report.lines()


@two_cpus
def test_a_run_interrupted_with_workers_resumes_in_one_process(ds, reference, tmp_path):
    out = tmp_path / "resumed.h5"

    def interrupt(rendered: int) -> None:
        if rendered >= 4:
            raise Interrupt

    options = dict(num_rows=ds.N, out=out, seed=ds.SEED, batch_size=2, audio_dtype="float16")
    with pytest.raises(Interrupt):
        generate(GenerateOptions(**options, workers=2), progress=False, on_batch=interrupt)
    assert partial_path(out).exists() and not out.exists()
    summary = generate(GenerateOptions(**options), progress=False)
    assert summary.resumed_from >= 4
    ds.assert_same_content(reference, out)


@two_cpus
def test_a_failing_worker_is_one_line_not_a_hang(tmp_path, monkeypatch):
    def broken(self, start: int, count: int):
        raise ValueError(f"no rows from {start}")

    monkeypatch.setattr(ExampleRenderer, "render", broken)  # the forked workers inherit it
    with pytest.raises(InputError, match=r"render worker on CPU \d+ failed: ValueError: no rows from 0"):
        generate(GenerateOptions(num_rows=4, out=tmp_path / "x.h5", batch_size=2, render="eager", workers=2),
                 progress=False)
    assert not (tmp_path / "x.h5").exists()


def test_worker_counts_that_cannot_run(tmp_path):
    for workers, message in [(0, "--workers must be a positive number"),
                             (len(usable_cpus()) + 1, "one worker each at most")]:
        with pytest.raises(InputError, match=message):
            generate(GenerateOptions(num_rows=4, out=tmp_path / "x.h5", workers=workers), progress=False)
    with pytest.raises(InputError, match="render workers run on the CPU"):
        check_workers(2, "cuda")
    assert list(tmp_path.iterdir()) == []


def test_auto_is_one_worker_per_cpu_where_they_help():
    cpus = len(usable_cpus())
    assert auto_workers("cpu", 1000, 32) == (cpus if cpus >= 2 else 1)
    assert auto_workers("cpu", 32, 32) == 1  # one batch: nothing to share
    assert auto_workers("cpu", 64, 32) == (2 if cpus >= 2 else 1)
    assert auto_workers("cuda", 1000, 32) == 1


@pytest.mark.parametrize("compression", ["lzf", "gzip", "none"])
def test_rows_filtered_elsewhere_read_back_as_written(tmp_path, compression):
    rng = np.random.default_rng(0)
    spectrograms = (rng.random((3, 512, 512)) ** 4 * 255).astype(np.uint8)  # mostly quiet, as spectrograms are
    audio = rng.standard_normal((3, 1000)).astype(np.float16)
    batch = stored(RenderedBatch(5, rng.random((3, 100), dtype=np.float32), spectrograms, audio), compression)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        s = f.create_dataset("s", shape=(8, 512, 512), dtype=np.uint8, chunks=(1, 512, 512), **row_chunks(compression))
        a = f.create_dataset("a", shape=(8, 1000), dtype=np.float16, chunks=(1, 1000), **row_chunks(compression))
        batch.write(s, a, 2)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        assert np.array_equal(f["s"][2:5], spectrograms) and np.array_equal(f["a"][2:5], audio)
        assert not f["s"][:2].any() and not f["s"][5:].any()
        assert (f["s"].compression, f["s"].fletcher32) == (None if compression == "none" else compression, True)
    if compression != "none":  # compressed: what crosses between the processes is the smaller form
        assert sum(len(data) for _, data in batch.spectrograms) < spectrograms.nbytes
