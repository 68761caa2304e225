"""``info``: status, attributes, datasets and sizes of complete, partial and merged files."""

from __future__ import annotations

import h5py
import pytest

from dataset_gen.info import describe, format_description
from dataset_gen.merge import merge
from synth.errors import InputError


def test_describes_a_complete_file(ds, reference):
    info = describe(reference)
    assert (info["status"], info["rows"], info["complete_rows"], info["total_rows"]) == ("complete", ds.N, ds.N, ds.N)
    assert info["attributes"]["param_spec"]["parameters"] == 100
    assert info["attributes"]["spectrogram_config"]["bins"] == 512
    spectrograms = info["datasets"]["spectrograms"]
    assert (spectrograms["shape"], spectrograms["dtype"], spectrograms["chunks"], spectrograms["compression"]) == \
        ([ds.N, 512, 512], "uint8", [1, 512, 512], "lzf")
    assert 0 < info["data_bytes"] <= info["file_bytes"] == reference.stat().st_size
    assert info["bytes_per_example"] == pytest.approx(info["data_bytes"] / ds.N)
    text = "\n".join(format_description(info))
    assert text.startswith(f"{reference}: complete") and "/spectrograms" in text and "bytes per example" in text


def test_describes_a_partial_and_a_merged_file(ds, reference, shards, tmp_path):
    partial = ds.copy(reference, tmp_path / "run.h5.partial")
    with h5py.File(partial, "r+") as f:
        f.attrs["complete"] = 0
        f.attrs["complete_rows"] = 5
    info = describe(partial)
    assert info["status"].startswith("partial") and info["complete_rows"] == 5
    merged = merge(shards, shards[0].parent / "merged_for_info.h5").path
    info = describe(merged)
    assert info["datasets"]["params"]["virtual"] and len(info["attributes"]["merged_from"]) == 4
    assert info["data_bytes"] == sum(s.stat().st_size for s in shards)
    assert "merged from 4 shard(s)" in "\n".join(format_description(info))


def test_unreadable_file_is_an_input_error(tmp_path):
    path = tmp_path / "x.h5"
    path.write_bytes(b"nope")
    with pytest.raises(InputError, match="x.h5: not a readable HDF5 file"):
        describe(path)
    with pytest.raises(InputError, match="no such file"):
        describe(tmp_path / "missing.h5")
