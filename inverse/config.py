"""Typed configuration for the inverse model; saved with every checkpoint (``asdict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from synth.errors import InputError


@dataclass(frozen=True)
class BackboneConfig:
    """The shared CNN encoder (also used by ``specmask``)."""

    widths: tuple[int, ...] = (32, 64, 128, 256)  # channels at strides 8, 16, 32, 64
    stem_stride: int = 8  # patchify 8x8: downsample early, the CPU cost is in the first layers (2x cheaper than 4x4)
    freq_embedding_dim: int = 16  # sinusoidal features of the frequency row, before the learned weighting
    time_embedding_dim: int = 8  # sinusoidal features of the time column, before the learned weighting
    position_channels: int = 8  # channels each learned weighting layer produces (frequency, then time)
    latent_dim: int = 256  # pooled latent: what the regression head reads and what sampling perturbs
    groups: int = 4  # GroupNorm groups (batch-size independent, unlike BatchNorm)

    def __post_init__(self):
        if len(self.widths) < 2 or any(w <= 0 or w % self.groups for w in self.widths):
            raise InputError(f"widths must be >= 2 positive multiples of groups={self.groups}, got {self.widths}")
        if self.stem_stride < 1 or self.latent_dim < 1:
            raise InputError(f"stem_stride and latent_dim must be positive, got {self.stem_stride}, {self.latent_dim}")


@dataclass(frozen=True)
class HeadConfig:
    """Regression head: latent -> 100 parameters (bounded continuous values, logits for discrete ones)."""

    hidden: int = 512  # width of the MLP's hidden layer
    dropout: float = 0.1  # on the hidden layer, during training


@dataclass(frozen=True)
class ModelConfig:
    backbone: BackboneConfig = BackboneConfig()
    head: HeadConfig = HeadConfig()

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ModelConfig:
        return cls(backbone=build_dataclass(BackboneConfig, data["backbone"]),
                   head=build_dataclass(HeadConfig, data["head"]))


def build_dataclass(kind, data: dict):
    """A config dataclass from its JSON form (lists become tuples); unknown fields are an InputError."""
    names = {f.name for f in fields(kind)}
    unknown = set(data) - names
    if unknown:
        raise InputError(f"unknown {kind.__name__} fields: {', '.join(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return kind(**values)
