"""The training-time reader: items, DataLoader with workers, the split, and what it refuses."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from dataset_gen.reader import SpectrogramDataset, collate, split_indices, train_val_split
from synth.errors import InputError
from synth.spectrogram import SpectrogramConfig, dequantize


def test_items_are_the_stored_rows_as_float(ds, reference):
    stored = ds.content(reference)
    data = SpectrogramDataset(reference)
    assert len(data) == ds.N
    spectrogram, params, audio = data[3]
    assert spectrogram.shape == (1, 512, 512) and spectrogram.dtype == torch.float32
    assert float(spectrogram.min()) >= 0.0 and float(spectrogram.max()) <= 1.0
    assert torch.equal(torch.round(spectrogram[0] * 255).to(torch.uint8), torch.from_numpy(stored["spectrograms"][3]))
    assert torch.equal(params, torch.from_numpy(stored["params"][3])) and params.dtype == torch.float32
    assert audio.dtype == torch.float32 and torch.equal(audio, torch.from_numpy(stored["audio"][3]).float())
    assert torch.equal(data[-1][1], data[ds.N - 1][1])
    with pytest.raises(IndexError):
        data[ds.N]
    spectrogram_only = SpectrogramDataset(reference, audio=False)
    assert len(spectrogram_only[0]) == 2
    batch = spectrogram_only.__getitems__([5, 1, 5])
    assert [torch.equal(b[1], data[i][1]) for b, i in zip(batch, [5, 1, 5], strict=True)] == [True] * 3


@pytest.mark.parametrize("collate_fn", [None, collate], ids=["default_collate", "reader.collate"])
def test_dataloader_with_two_workers_sees_every_row(ds, reference, collate_fn):
    data = SpectrogramDataset(reference, audio=False)
    data[0]  # a handle opened in the parent must not leak into the workers
    loader = DataLoader(data, batch_size=3, shuffle=False, num_workers=2, collate_fn=collate_fn)
    spectrograms, params = zip(*loader, strict=True)
    stored = ds.content(reference)
    assert torch.equal(torch.cat(params), torch.from_numpy(stored["params"]))
    assert torch.equal(torch.cat(spectrograms), dequantize(torch.from_numpy(stored["spectrograms"])).unsqueeze(1))


def test_shuffled_subset_batches_and_uint8_output(ds, reference):
    stored = ds.content(reference)
    _, val = train_val_split(SpectrogramDataset(reference, as_uint8=True), val_fraction=0.5, seed=1)
    loader = DataLoader(val, batch_size=3, shuffle=True, num_workers=2, collate_fn=collate,
                        generator=torch.Generator().manual_seed(0))
    for spectrograms, params, audio in loader:
        assert spectrograms.dtype == torch.uint8 and spectrograms.shape[1:] == (1, 512, 512)
        rows = [int(np.flatnonzero((stored["params"] == p.numpy()).all(1))[0]) for p in params]
        assert set(rows) <= set(val.indices)
        assert torch.equal(spectrograms[:, 0], torch.from_numpy(stored["spectrograms"][rows]))
        assert torch.equal(audio, torch.from_numpy(stored["audio"][rows]).float())


def test_split_is_deterministic_disjoint_and_exact():
    train, val = split_indices(1000, 0.1, seed=3)
    assert len(val) == 100 and len(train) == 900
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(1000))
    again_train, again_val = split_indices(1000, 0.1, seed=3)
    assert np.array_equal(val, again_val) and np.array_equal(train, again_train)
    assert not np.array_equal(val, split_indices(1000, 0.1, seed=4)[1])
    # Growing the dataset keeps most validation rows validation rows.
    grown = set(split_indices(2000, 0.1, seed=3)[1].tolist())
    assert len(grown & set(val.tolist())) >= 80
    assert len(split_indices(5, 0.01)[1]) == 1 and len(split_indices(5, 0.0)[1]) == 0
    with pytest.raises(InputError, match="val_fraction"):
        split_indices(10, 1.0)


def test_train_val_split_of_a_dataset(reference):
    train, val = train_val_split(SpectrogramDataset(reference), val_fraction=0.25, seed=0)
    assert len(train) == 6 and len(val) == 2
    assert not set(train.indices) & set(val.indices)
    assert torch.equal(val[0][1], SpectrogramDataset(reference)[val.indices[0]][1])


def _edited(reference, tmp_path, **attrs):
    path = tmp_path / "edited.h5"
    shutil.copyfile(reference, path)
    with h5py.File(path, "r+") as f:
        for name, value in attrs.items():
            f.attrs[name] = value
    return path


@pytest.mark.parametrize(("attrs", "message"), [
    ({"complete": 0}, r"incomplete dataset \(8 of 8 rows written\)"),
    ({"complete_rows": 7}, r"incomplete dataset \(7 of 8 rows written\)"),
    ({"synth_version": "0.1.0"}, "made with synth version 0.1.0, this is"),
    ({"format_version": 99}, "dataset format version 99"),
    ({"complete_rows": "many"}, "attribute 'complete_rows' is 'many', expected an integer"),
    ({"spectrogram_config": "{"}, "attribute 'spectrogram_config' is not valid JSON"),
    ({"spectrogram_config": '{"bins": 512}'}, "unusable spectrogram_config attribute"),
    ({"audio_dtype": "int7"}, "attribute 'audio_dtype' is 'int7'"),
])
def test_refuses_files_it_must_not_read(reference, tmp_path, attrs, message):
    with pytest.raises(InputError, match=message):
        SpectrogramDataset(_edited(reference, tmp_path, **attrs))


def test_refuses_another_spectrogram_config_and_missing_audio(reference, tmp_path, shards):
    with pytest.raises(InputError, match="spectrogram config differs"):
        SpectrogramDataset(reference, config=SpectrogramConfig(db_range=60.0))
    no_audio = tmp_path / "no_audio.h5"
    with h5py.File(no_audio, "w") as f:
        for name in ("params", "spectrograms"):
            with h5py.File(reference, "r") as source:
                f[name] = source[name][()]
                f.attrs.update(dict(source.attrs))
        f.attrs["audio_dtype"] = "none"
    assert len(SpectrogramDataset(no_audio)[0]) == 2
    with pytest.raises(InputError, match="has no /audio"):
        SpectrogramDataset(no_audio, audio=True)


def test_truncated_and_corrupted_files(ds, reference, tmp_path):
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(reference.read_bytes()[:100_000])
    with pytest.raises(InputError, match="truncated.h5: not a readable HDF5 file"):
        SpectrogramDataset(truncated)
    corrupted = ds.copy(reference, tmp_path / "corrupted.h5")
    with h5py.File(corrupted, "r") as f:
        offset = f["spectrograms"].id.get_chunk_info(6).byte_offset
    with open(corrupted, "r+b") as raw:
        raw.seek(offset + 10)
        raw.write(bytes(16))
    data = SpectrogramDataset(corrupted)
    data[5]
    with pytest.raises(InputError, match="row 6 cannot be read"):
        data[6]
