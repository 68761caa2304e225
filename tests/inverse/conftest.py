"""Shared fixtures for the inverse tests: a tiny model configuration (real 512x512 input contract)."""

import pytest

from inverse.config import BackboneConfig, HeadConfig, ModelConfig


@pytest.fixture(scope="session")
def tiny() -> ModelConfig:
    return ModelConfig(BackboneConfig(widths=(4, 8, 8, 8, 8), freq_embedding_dim=8, time_embedding_dim=4,
                                      position_channels=4, latent_dim=16), HeadConfig(hidden=32, dropout=0.0))
