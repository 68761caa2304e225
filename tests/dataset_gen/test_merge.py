"""Merging shards: equal to one run; mismatched, overlapping, missing or partial shards refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import pytest

from dataset_gen.layout import Shard, partial_path
from dataset_gen.merge import merge
from dataset_gen.reader import SpectrogramDataset
from synth.errors import InputError


def test_four_shards_merged_equal_one_run(ds, reference, shards, tmp_path):
    merged = merge(shards[::-1], shards[0].parent / "merged.h5")  # any order on the command line
    assert (merged.rows, merged.shards) == (ds.N, 4)
    ds.assert_same_content(reference, merged.path)
    with h5py.File(merged.path, "r") as f:
        assert f["spectrograms"].is_virtual
        assert (f.attrs["row_start"], f.attrs["row_stop"], f.attrs["complete"]) == (0, ds.N, 1)
        assert (f.attrs["compression"], f.attrs["seed"]) == ("gzip", ds.SEED)
    assert len(SpectrogramDataset(merged.path)) == ds.N
    fingerprint = SpectrogramDataset(merged.path).fingerprint
    assert fingerprint == SpectrogramDataset(reference).fingerprint  # same rows, whatever the compression
    assert fingerprint != SpectrogramDataset(shards[0]).fingerprint
    # The directory holding the merged file and its shards can move as a whole.
    moved = tmp_path / "moved"
    shutil.copytree(shards[0].parent, moved)
    ds.assert_same_content(reference, moved / "merged.h5")


def test_merged_file_with_a_missing_shard_is_refused(ds, shards, tmp_path):
    directory = tmp_path / "incomplete_copy"
    directory.mkdir()
    for shard in shards:
        ds.copy(shard, directory / shard.name)
    merge(sorted(directory.iterdir()), directory / "merged.h5")
    (directory / shards[2].name).unlink()
    with pytest.raises(InputError, match="part-2.h5 is missing"):
        SpectrogramDataset(directory / "merged.h5")


def _with_attr(shard: Path, to: Path, name: str, value) -> Path:
    shutil.copyfile(shard, to)
    with h5py.File(to, "r+") as f:
        f.attrs[name] = value
    return to


@pytest.mark.parametrize(("name", "value", "message"), [
    ("synth_version", "0.0.1", "synth_version '0.0.1' vs '1"),
    ("seed", 8, "seed 8 vs 7"),
    ("sampler", "sobol", "sampler 'sobol' vs 'uniform'"),
    ("spectrogram_config", '{"bins":512,"db_range":60.0,"frames":512,"hop_length":128,"n_fft":1024,'
                           '"sample_rate":16000,"win_length":1024}', "spectrogram_config differs"),
    ("param_spec", "[]", "param_spec differs"),
])
def test_merge_refuses_shards_of_another_dataset(shards, tmp_path, name, value, message):
    odd = _with_attr(shards[3], tmp_path / "odd.h5", name, value)
    with pytest.raises(InputError, match=rf"cannot merge .*odd.h5 with .*part-0.h5: {message}"):
        merge([*shards[:3], odd], tmp_path / "merged.h5")
    assert not (tmp_path / "merged.h5").exists()


def test_merge_refuses_overlaps_and_gaps(ds, shards, tmp_path):
    out = tmp_path / "merged.h5"
    with pytest.raises(InputError, match=r"part-1.h5 \(rows 2..3\) and .*part-1.h5 \(rows 2..3\) overlap"):
        merge([*shards, shards[1]], out)
    with pytest.raises(InputError, match=r"rows 4..5 are in no shard"):
        merge([shards[0], shards[1], shards[3]], out)
    with pytest.raises(InputError, match=r"rows 6..7 of 8 are in no shard"):
        merge(shards[:3], out)
    # A shard of the same dataset split another way overlaps.
    other_split = ds.make(tmp_path / "half.h5", batch_size=6, audio_dtype="float16", shard=Shard(1, 2))
    with pytest.raises(InputError, match="overlap"):
        merge([*shards, other_split], out)
    assert not out.exists() and not partial_path(out).exists()


def test_merge_refuses_partial_shards_and_existing_output(ds, shards, tmp_path):
    partial = ds.copy(shards[1], tmp_path / "part-1.h5.partial")
    with h5py.File(partial, "r+") as f:
        f.attrs["complete"] = 0
        f.attrs["complete_rows"] = 1
    with pytest.raises(InputError, match=r"incomplete dataset \(1 of 2 rows written\)"):
        merge([shards[0], partial, *shards[2:]], tmp_path / "merged.h5")
    existing = tmp_path / "existing.h5"
    existing.write_bytes(b"keep")
    with pytest.raises(InputError, match="already exists"):
        merge(shards, existing)
    assert existing.read_bytes() == b"keep"
    with pytest.raises(InputError, match="at least one shard"):
        merge([], tmp_path / "none.h5")
