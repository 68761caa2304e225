"""Rendered rows filtered into the bytes a dataset file stores, outside the process that writes the file.

``/spectrograms`` and ``/audio`` hold one row per chunk, compressed and checksummed by HDF5's filter pipeline
(:func:`dataset_gen.layout.row_chunks`). Compressing is ~1 ms a row with lzf: done by the one thread that writes
the file, it competes with the renderers for the CPUs. Render workers (:mod:`dataset_gen.render_workers`) instead
run the same pipeline on their own rows (an in-memory HDF5 file with the same dataset settings) and send the
stored bytes of each chunk, which the writer puts in place with ``write_direct_chunk``: the same filters and
settings in the same library, so the file reads back the same rows (and ``verify`` compares them), and three
times fewer bytes travel between the processes (with lzf).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import h5py
import numpy as np

from dataset_gen.layout import row_chunks
from dataset_gen.rendering import RenderedBatch

_names = itertools.count()


@dataclass(frozen=True)
class StoredBatch:
    """Consecutive global rows ``start ..`` as the file stores them: ``params`` float32 ``(B, 100)`` (written as
    usual) and, per row, ``(filter mask, chunk bytes)`` of its spectrogram and its audio (None: no audio stored)."""

    start: int
    params: np.ndarray
    spectrograms: list[tuple[int, bytes]]
    audio: list[tuple[int, bytes]] | None

    def __len__(self) -> int:
        return len(self.params)

    def write(self, spectrograms: h5py.Dataset, audio: h5py.Dataset | None, local: int) -> None:
        """Put the chunks in place at file rows ``local ..`` of ``spectrograms`` (and ``audio``)."""
        for name, dataset, chunks in (("spectrograms", spectrograms, self.spectrograms), ("audio", audio, self.audio)):
            if (dataset is None) != (chunks is None):
                raise ValueError(f"stored batch and file disagree on /{name}")
            for i, (mask, data) in enumerate(chunks or ()):
                dataset.id.write_direct_chunk((local + i,) + (0,) * (dataset.ndim - 1), data, mask)


def stored(batch: RenderedBatch, compression: str) -> StoredBatch:
    """``batch`` filtered as a file with ``compression`` (a key of :data:`~dataset_gen.layout.COMPRESSIONS`) stores
    it, by HDF5 itself in an in-memory file made for this batch (one file reused for every batch would keep the
    space of each rewritten chunk)."""
    with h5py.File(f"stored-rows-{os.getpid()}-{next(_names)}.h5", "w", driver="core", backing_store=False) as file:
        def chunks(rows: np.ndarray) -> list[tuple[int, bytes]]:
            dataset = file.create_dataset(f"rows{len(file)}", data=rows, chunks=(1, *rows.shape[1:]),
                                          **row_chunks(compression))
            return [dataset.id.read_direct_chunk((i,) + (0,) * (rows.ndim - 1)) for i in range(len(rows))]

        audio = None if batch.audio is None else chunks(batch.audio)
        return StoredBatch(batch.start, batch.params, chunks(batch.spectrograms), audio)
