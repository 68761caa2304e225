"""Shared fixtures for the inverse tests: a tiny model configuration (real 512x512 input contract) and a clock that
ticks one second per reading (time budgets without waiting)."""

import itertools
from types import SimpleNamespace

import pytest

from inverse.config import BackboneConfig, HeadConfig, ModelConfig


@pytest.fixture(scope="session")
def tiny() -> ModelConfig:
    return ModelConfig(BackboneConfig(widths=(4, 8, 8, 8, 8), freq_embedding_dim=8, time_embedding_dim=4,
                                      position_channels=4, latent_dim=16), HeadConfig(hidden=32, dropout=0.0))


@pytest.fixture
def ticking_clock(monkeypatch):
    """``ticking_clock(module)``: ``module.time.perf_counter`` replaced by a clock that reads 0 s the first time and
    one second more each time after (``monkeypatch.undo()`` restores it)."""
    def install(module) -> None:
        ticks = itertools.count()
        monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    return install
