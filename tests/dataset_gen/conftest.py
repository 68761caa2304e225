"""Shared tiny datasets (real 512x512 rows, eight of them) and helpers for the dataset_gen tests.

Tests reach the helpers through the ``ds`` fixture (with ``--import-mode=importlib`` test modules cannot
import each other or this file). They render with one torch thread (``synth.threads.torch_threads``); the test of
thread-count independence renders with two on purpose.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from dataset_gen.generate import GenerateOptions, generate
from dataset_gen.layout import Shard
from synth.threads import torch_threads

N = 8
SEED = 7
SHARDS = 4


def make(path: Path, n: int = N, threads: int = 1, **options) -> Path:
    """Generate ``path`` quietly (defaults: the reference dataset's n and seed, one thread: tiny batches gain nothing
    from two, and two stall badly whenever another process holds one of a 2-core machine's cores)."""
    options.setdefault("seed", SEED)
    with torch_threads(threads):
        generate(GenerateOptions(num_rows=n, out=path, **options), progress=False)
    return path


def content(path: Path) -> dict[str, np.ndarray]:
    """Every dataset of a file, read with plain h5py."""
    with h5py.File(path, "r") as f:
        return {name: f[name][()] for name in f}


def assert_same_content(a: Path, b: Path) -> None:
    ca, cb = content(a), content(b)
    assert sorted(ca) == sorted(cb)
    for name in ca:
        assert ca[name].dtype == cb[name].dtype, name
        assert np.array_equal(ca[name], cb[name]), f"/{name} differs between {a.name} and {b.name}"


def complete_rows(partial: Path) -> int:
    """A running writer's progress, read without taking its lock (it may be mid-write: then 0)."""
    try:
        with h5py.File(partial, "r", locking=False) as f:
            return int(f.attrs["complete_rows"])
    except (OSError, KeyError):
        return 0


def copy(path: Path, to: Path) -> Path:
    shutil.copyfile(path, to)
    return to


class DatasetHelpers:
    """What the ``ds`` fixture gives a test: the reference dataset's size and seed, and the helpers above."""

    N = N
    SEED = SEED
    make = staticmethod(make)
    content = staticmethod(content)
    assert_same_content = staticmethod(assert_same_content)
    complete_rows = staticmethod(complete_rows)
    copy = staticmethod(copy)


@pytest.fixture(scope="session")
def ds() -> type[DatasetHelpers]:
    return DatasetHelpers


@pytest.fixture(autouse=True)
def one_torch_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Path:
    """One uninterrupted run: 8 rows in batches of 3, lzf, float16 audio."""
    return make(tmp_path_factory.mktemp("reference") / "reference.h5", batch_size=3, audio_dtype="float16")


@pytest.fixture(scope="session")
def shards(tmp_path_factory) -> list[Path]:
    """The same 8 rows as four gzip shards (``--shard i/4``, batches of 2), in a directory of their own."""
    directory = tmp_path_factory.mktemp("shards")
    return [make(directory / f"part-{i}.h5", batch_size=2, audio_dtype="float16", compression="gzip",
                 shard=Shard(i, SHARDS)) for i in range(SHARDS)]
