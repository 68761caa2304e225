"""Paired (params, spectrogram[, audio]) HDF5 datasets rendered by the synth: ``python -m dataset_gen``.

- :mod:`dataset_gen.layout`: file layout, attributes, shards, opening files safely.
- :mod:`dataset_gen.rendering`: global row indices -> stored bytes (prior, synth, 8-bit spectrogram).
- :mod:`dataset_gen.generate`: streaming, resumable, shardable generation.
- :mod:`dataset_gen.merge`, :mod:`dataset_gen.verify`, :mod:`dataset_gen.info`, :mod:`dataset_gen.export`:
  the other commands.
- :mod:`dataset_gen.reader`: the training-time ``Dataset`` and a deterministic train/validation split.
"""

from dataset_gen.reader import SpectrogramDataset, collate, split_indices, train_val_split

__all__ = ["SpectrogramDataset", "collate", "split_indices", "train_val_split"]
