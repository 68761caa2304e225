"""Read a dataset for training: a ``torch.utils.data.Dataset`` and a deterministic train/validation split.

>>> data = SpectrogramDataset("data/train.h5")
>>> train, val = train_val_split(data, val_fraction=0.1, seed=0)
>>> loader = DataLoader(train, batch_size=64, shuffle=True, num_workers=2, collate_fn=collate)
>>> spectrograms, params = next(iter(loader))   # (64, 1, 512, 512) in [0, 1], (64, 100)

Each worker process opens its own HDF5 handle on first use (h5py handles must not cross a fork).
Batched fetches (``__getitems__``, used by ``DataLoader``) read all of a batch's rows in one call and
convert them straight into one batch tensor; ``collate`` passes that on without another copy (the default
collate function works too, a little slower).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset, Subset, default_collate, get_worker_info

from dataset_gen.layout import (
    AUDIO,
    PARAMS,
    SPECTROGRAMS,
    FileAttrs,
    canonical_json,
    h5_file,
    open_complete,
    short_reason,
)
from synth.errors import InputError
from synth.spectrogram import DEFAULT_CONFIG, SpectrogramConfig


class SpectrogramDataset(Dataset):
    """Rows of one dataset file (single run, shard or merged file).

    Item ``i`` is ``(spectrogram, params)``: ``Tensor[1, bins, frames]`` float32 normalised to [0, 1]
    (``dequantize`` of the stored bytes; (1, 512, 512) by default) and ``Tensor[100]`` float32 in [0, 1];
    with ``audio`` (default: whenever the file stores audio) a third item ``Tensor[num_samples]`` float32.
    With ``as_uint8`` the spectrogram is the stored ``uint8`` bytes instead (4x less to move between
    processes; convert with ``synth.spectrogram.dequantize`` where the model runs, e.g. on the GPU).

    Refuses (with :class:`InputError`) partial or incomplete files, files made by another synth version,
    files whose spectrogram config is not ``config``, and merged files with missing shards.
    """

    def __init__(self, path: Path | str, *, audio: bool | None = None, as_uint8: bool = False,
                 config: SpectrogramConfig = DEFAULT_CONFIG) -> None:
        self.path = Path(path)
        file, attrs = open_complete(self.path)
        file.close()
        if attrs.spectrogram_config != canonical_json(config.to_json()):
            raise InputError(f"{self.path}: its spectrogram config differs from the one expected here "
                             "(see `python -m dataset_gen info`)")
        if audio and not attrs.has_audio:
            raise InputError(f"{self.path}: has no /audio (generate it with --audio)")
        self.attrs: FileAttrs = attrs
        self.with_audio = attrs.has_audio if audio is None else audio
        self.as_uint8 = as_uint8
        self._file: h5py.File | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return self.attrs.num_rows

    @property
    def row_start(self) -> int:
        """Global index of row 0 (non-zero for a shard)."""
        return self.attrs.row_start

    @property
    def fingerprint(self) -> str:
        """What checkpoints record as their training data: see :meth:`FileAttrs.fingerprint`."""
        return self.attrs.fingerprint()

    def _datasets(self) -> tuple[h5py.Dataset, ...]:
        # One handle per process: a DataLoader worker (fork or spawn) opens its own on first use.
        if self._file is None or self._pid != os.getpid():
            self._file = h5_file(self.path, "r")
            self._pid = os.getpid()
        names = (SPECTROGRAMS, PARAMS, AUDIO) if self.with_audio else (SPECTROGRAMS, PARAMS)
        return tuple(self._file[name] for name in names)

    def _check_index(self, index: int) -> int:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"row {index} is outside 0..{n - 1} of {self.path}")
        return index % n

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        """Rows ``indices`` (any order, repeats allowed) as views of one batch tensor per field.

        The batch tensors live in shared memory inside a DataLoader worker, so :func:`collate` hands them
        over without another copy. Rows are read run by run (``dset[a:b]``): h5py's fancy indexing over
        scattered rows of a chunked, compressed dataset is ~20x slower.
        """
        rows = np.array([self._check_index(int(i)) for i in indices], dtype=np.int64)
        datasets = self._datasets()
        try:
            if self.as_uint8:
                spectrograms = _empty((len(rows), 1, *datasets[0].shape[1:]), torch.uint8)
                _read_rows(datasets[0], rows, spectrograms[:, 0].numpy())
            else:
                u8 = _read_rows(datasets[0], rows)
                spectrograms = _empty((len(rows), 1, *u8.shape[1:]), torch.float32)
                spectrograms[:, 0].copy_(torch.from_numpy(u8))
                spectrograms.div_(255.0)  # == dequantize(u8); 5x faster than a uint8 -> float32 division
            tensors = [spectrograms, torch.from_numpy(_read_rows(datasets[1], rows))]
            if self.with_audio:
                audio = _empty((len(rows), datasets[2].shape[1]), torch.float32)
                audio.copy_(torch.from_numpy(_read_rows(datasets[2], rows)))
                tensors.append(audio)
        except OSError as exc:
            which = f"row {rows[0]}" if len(set(rows.tolist())) == 1 else f"rows {rows.min()}..{rows.max()}"
            raise InputError(f"{self.path}: {which} cannot be read ({short_reason(exc)})") from None
        return Batch(tensors)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_file"] = None
        state["_pid"] = None
        return state

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None


class Batch(list):
    """The items of one ``__getitems__`` call (a list of tuples), plus the batch tensors they are views of."""

    def __init__(self, tensors: list[torch.Tensor]) -> None:
        super().__init__(zip(*(t.unbind(0) for t in tensors), strict=True))
        self.tensors = tensors


def collate(items: list) -> list[torch.Tensor]:
    """``collate_fn`` for a DataLoader over :class:`SpectrogramDataset` (or a ``Subset`` of one).

    Returns ``[spectrograms (B, 1, bins, frames), params (B, 100)(, audio (B, num_samples))]`` exactly as
    ``default_collate`` would, but without copying a batch that ``__getitems__`` already assembled.
    """
    if isinstance(items, Batch):
        return list(items.tensors)
    return default_collate(items)


def _read_rows(dset: h5py.Dataset, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``dset[rows]`` in the given order (repeats allowed), one ``read_direct`` per run of consecutive rows."""
    if out is None:
        out = np.empty((len(rows), *dset.shape[1:]), dtype=dset.dtype)
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    for first, last in zip(np.concatenate([[0], breaks]), np.concatenate([breaks, [len(rows)]]), strict=True):
        start = int(rows[first])
        dset.read_direct(out, np.s_[start:start + last - first], np.s_[first:last])
    return out


def _empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised tensor; in a DataLoader worker, in shared memory (as default_collate allocates)."""
    if get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    numel = int(np.prod(shape))
    storage = torch.UntypedStorage._new_shared(numel * dtype.itemsize)
    return torch.empty(0, dtype=dtype).set_(storage, 0, shape)


def _row_hash(rows: np.ndarray, seed: int) -> np.ndarray:
    """splitmix64 of ``(seed, row)``: a fixed pseudo-random uint64 per row, the same on every platform."""
    z = rows.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15) * np.uint64(seed + 1)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def split_indices(num_rows: int, val_fraction: float = 0.1, seed: int = 0,
                  row_start: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic ``(train_rows, val_rows)`` (sorted file rows) for a file of ``num_rows`` rows.

    The ``round(val_fraction * num_rows)`` rows (at least one when ``val_fraction > 0``) with the smallest
    hash of ``(seed, global row)`` are validation rows: the split depends only on the seed and the rows,
    not on the machine, and a row keeps its side when the dataset grows (mostly; counts are exact).
    """
    if not 0.0 <= val_fraction < 1.0:
        raise InputError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if num_rows < 0 or seed < 0:
        raise InputError("num_rows and seed must be non-negative")
    count = round(val_fraction * num_rows)
    if val_fraction > 0 and num_rows >= 2:
        count = min(max(count, 1), num_rows - 1)
    with np.errstate(over="ignore"):
        hashes = _row_hash(np.arange(row_start, row_start + num_rows, dtype=np.uint64), seed)
    order = np.argsort(hashes, kind="stable")
    val = np.sort(order[:count])
    train = np.sort(order[count:])
    return train, val


def train_val_split(dataset: SpectrogramDataset, val_fraction: float = 0.1,
                    seed: int = 0) -> tuple[Subset, Subset]:
    """``(train, val)`` subsets of ``dataset`` from :func:`split_indices` (deterministic)."""
    train, val = split_indices(len(dataset), val_fraction, seed, dataset.row_start)
    return Subset(dataset, train.tolist()), Subset(dataset, val.tolist())
