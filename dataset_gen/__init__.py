"""Paired (params, spectrogram[, audio]) HDF5 datasets rendered by the synth: ``python -m dataset_gen``.

- :mod:`dataset_gen.layout`: file layout, attributes, shards, opening files safely.
- :mod:`dataset_gen.rendering`: global row indices -> stored bytes (prior, synth, 8-bit spectrogram).
- :mod:`dataset_gen.generate`: streaming, resumable, shardable generation.
- :mod:`dataset_gen.merge`, :mod:`dataset_gen.verify`, :mod:`dataset_gen.info`, :mod:`dataset_gen.export`:
  the other commands.
- :mod:`dataset_gen.reader`: the training-time ``Dataset`` and a deterministic train/validation split.

The names below are imported on first use (PEP 562), so that ``python -m dataset_gen`` can check the
installation (:mod:`synth.install_check`) before torch is imported.
"""

from __future__ import annotations

import importlib

__all__ = ["SpectrogramDataset", "collate", "split_indices", "train_val_split"]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module 'dataset_gen' has no attribute {name!r}")
    return getattr(importlib.import_module("dataset_gen.reader"), name)
