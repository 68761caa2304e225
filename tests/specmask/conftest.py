"""Shared fixtures for the specmask tests: a tiny inverse checkpoint and a tiny mask run trained on it for two
steps (real files), so training, checkpoints and the CLI are exercised end to end."""

import pytest
import torch

from inverse import checkpoint as inverse_checkpoint
from inverse.config import HeadConfig, ModelConfig
from inverse.model import InverseModel
from tests.specmask.tiny import TINY_BACKBONE, train_tiny


@pytest.fixture(scope="session")
def inverse_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = InverseModel(ModelConfig(TINY_BACKBONE, HeadConfig(hidden=32, dropout=0.0))).eval()
    return inverse_checkpoint.save(model, tmp_path_factory.mktemp("inverse") / "best").with_suffix("")


@pytest.fixture(scope="session")
def mask_run(tmp_path_factory, inverse_ckpt):
    out = tmp_path_factory.mktemp("mask") / "run"
    metrics = train_tiny(out, inverse_ckpt)
    return out, metrics
