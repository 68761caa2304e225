"""A retrieval index over a training set: the nearest training patches of a target spectrogram.

Retrieval proposes *whole* patches the synth really made, each with its own pitch structure, where the
regression head proposes averages of the many parameter sets that give one sound. :func:`inverse.sampling.sample`
adds the ``retrieved`` nearest rows of an index to its pool, where the perceptual ranking, the symmetry
expansion and refinement treat them like every other candidate.

Features: the normalised 512x512 spectrogram mean-pooled 8x8 (``Tensor[4096]``), projected on its first
``components`` principal directions (fitted on the indexed rows, scikit-learn's randomized PCA, fixed seed).
The nearest rows are those with the smallest Euclidean distance in that space (exact, brute force: 30,000
rows take ~5 ms). Stored as ``NAME.safetensors`` (``mean`` float32, ``basis`` float32, ``keys`` float16,
``params`` uint16 quantised: ``round(p * 65535)``, within 8e-6 of the row's value) + ``NAME.json`` (format,
synth version, spectrogram config, parameter spec, the dataset's fingerprint, seed and prior, PCA details);
loading refuses an index made for another synth, spectrogram or parameter specification.

    inverse index --data data/train.h5 --out runs/index [--rows N] [--components 64]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError
from safetensors.torch import load_file
from tqdm import tqdm

from inverse import checkpoint
from synth.errors import InputError, one_line
from synth.params import NUM_PARAMS, SYNTH_VERSION
from synth.spectrogram import DEFAULT_CONFIG, dequantize

FORMAT = "inverse-synth-index"
FORMAT_VERSION = 1
POOL = 8  # 512x512 -> 64x64 mean pooling before the projection
QUANT = 65535  # params are stored as uint16: round(p * QUANT)
DEFAULT_INDEX = checkpoint.DEFAULT_MODEL.with_name("index")  # the shipped index (inverse/pretrained/index)


@dataclass(frozen=True)
class IndexConfig:
    components: int = 64  # principal components kept (64: 20 MB for the shipped model and index together)
    rows: int | None = None  # rows indexed, from the start of the file (None: all)
    batch: int = 256  # rows read per batch while building

    def validate(self) -> None:
        if self.components < 1 or self.batch < 1 or (self.rows is not None and self.rows < 1):
            raise ValueError(f"components, batch and rows must be >= 1, got {asdict(self)}")


def pooled(spectrogram: torch.Tensor) -> torch.Tensor:
    """Normalised spectrograms ``Tensor[B, 512, 512]`` (or ``[B, 1, 512, 512]``) -> features ``Tensor[B, 4096]``."""
    x = spectrogram.float()
    if x.dim() == 3:
        x = x[:, None]
    return F.avg_pool2d(x, POOL).flatten(1)


class RetrievalIndex:
    """``mean`` ``Tensor[F]``, ``basis`` ``Tensor[C, F]`` (rows: principal directions), ``keys`` ``Tensor[N, C]``
    (the indexed rows' projections), ``params`` ``Tensor[N, 100]`` normalised; ``info``: the JSON metadata."""

    def __init__(self, mean: torch.Tensor, basis: torch.Tensor, keys: torch.Tensor, params: torch.Tensor, info: dict):
        if basis.shape[1] != mean.shape[0] or keys.shape[1] != basis.shape[0] or params.shape != (keys.shape[0],
                                                                                                    NUM_PARAMS):
            raise InputError(f"index tensors do not fit together: mean {tuple(mean.shape)}, basis "
                             f"{tuple(basis.shape)}, keys {tuple(keys.shape)}, params {tuple(params.shape)}")
        self.mean, self.basis, self.keys, self.params, self.info = mean, basis, keys, params, info

    def __len__(self) -> int:
        return self.keys.shape[0]

    def project(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """Normalised spectrograms ``Tensor[B, 512, 512]`` -> their keys ``Tensor[B, C]``."""
        return (pooled(spectrogram) - self.mean) @ self.basis.T

    def query(self, spectrogram: torch.Tensor, k: int) -> torch.Tensor:
        """The ``k`` indexed rows nearest to one normalised spectrogram ``Tensor[512, 512]``, nearest first:
        their params ``Tensor[min(k, N), 100]``."""
        if spectrogram.shape != (DEFAULT_CONFIG.bins, DEFAULT_CONFIG.frames):
            raise InputError(f"expected a spectrogram of shape ({DEFAULT_CONFIG.bins}, {DEFAULT_CONFIG.frames}), "
                             f"got {tuple(spectrogram.shape)}")
        distances = torch.cdist(self.project(spectrogram[None].cpu()), self.keys)[0]
        order = torch.argsort(distances, stable=True)[:k]
        return self.params[order].clone()

    def save(self, path: str | Path) -> Path:
        quantised = torch.round(self.params * QUANT).to(torch.int32).to(torch.uint16)
        tensors = {"mean": self.mean, "basis": self.basis, "keys": self.keys.half(), "params": quantised}
        return checkpoint.write_pair(path, tensors, self.info)

    @classmethod
    def load(cls, path: str | Path) -> RetrievalIndex:
        """Read an index written by :meth:`save`; refuses one made for another synth, spectrogram or parameter
        specification, or whose tensors do not fit, with one line. Never unpickles anything."""
        info = checkpoint.read_json(path, FORMAT, FORMAT_VERSION, "retrieval index")
        weights, _ = checkpoint.paths(path)
        try:
            tensors = load_file(str(weights), device="cpu")
            mean, basis = tensors["mean"].float(), tensors["basis"].float()
            keys, params = tensors["keys"].float(), tensors["params"].to(torch.int32).float() / QUANT
        except (SafetensorError, KeyError, RuntimeError) as error:
            raise InputError(f"{weights}: not a retrieval index ({one_line(error)})") from None
        return cls(mean, basis, keys, params, info)


def build_index(data_path: str | Path, config: IndexConfig | None = None, progress: bool = True) -> RetrievalIndex:
    """Index the first ``config.rows`` rows of a dataset file (all by default)."""
    from sklearn.decomposition import PCA  # only when building: predict stays light
    from torch.utils.data import DataLoader, Subset

    from dataset_gen.reader import SpectrogramDataset, collate

    config = config or IndexConfig()
    try:
        config.validate()
    except ValueError as error:
        raise InputError(str(error)) from None
    data = SpectrogramDataset(data_path, audio=False, as_uint8=True)
    count = len(data) if config.rows is None else min(config.rows, len(data))
    if config.components > count:
        raise InputError(f"--components {config.components} needs at least as many rows; {data_path} gives {count}")
    loader = DataLoader(Subset(data, range(count)), batch_size=config.batch, collate_fn=collate)
    features, params = [], []
    for spec, p in tqdm(loader, desc=f"indexing {count} rows", unit="batch", disable=not progress):
        features.append(pooled(dequantize(spec)).numpy())
        params.append(p)
    matrix = np.concatenate(features)
    pca = PCA(n_components=config.components, svd_solver="randomized", random_state=0).fit(matrix)
    mean = torch.from_numpy(pca.mean_).float()
    basis = torch.from_numpy(pca.components_).float()
    keys = (torch.from_numpy(matrix) - mean) @ basis.T
    attrs = data.attrs
    info = {"format": FORMAT, "format_version": FORMAT_VERSION, "synth_version": SYNTH_VERSION,
            "spectrogram_config": DEFAULT_CONFIG.to_json(), "param_spec_sha256": checkpoint.param_spec_hash(),
            "data": {"path": str(data_path), "fingerprint": attrs.fingerprint(), "seed": attrs.seed,
                     "prior": attrs.prior, "rows": count},
            "config": asdict(config), "pooling": POOL,
            "explained_variance": round(float(pca.explained_variance_ratio_.sum()), 4)}
    return RetrievalIndex(mean, basis, keys.half().float(), torch.cat(params).float(), info)
