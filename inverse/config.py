"""Typed configuration for the inverse model; saved with every checkpoint (``asdict``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from types import UnionType
from typing import Union, get_args, get_origin, get_type_hints

from synth.errors import InputError, json_kind


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
        if not isinstance(data, dict) or not {"backbone", "head"} <= set(data):
            raise InputError(f"expected a model config object with 'backbone' and 'head' objects, got "
                             f"{json_kind(data) if not isinstance(data, dict) else 'keys ' + repr(sorted(data))}")
        return cls(backbone=build_dataclass(BackboneConfig, data["backbone"]),
                   head=build_dataclass(HeadConfig, data["head"]))


def build_dataclass(kind, data: dict):
    """A config dataclass from its JSON form (lists become tuples). Anything but an object, unknown fields
    and values of the wrong type (checked against the field annotations) are an :class:`InputError`."""
    if not isinstance(data, dict):
        raise InputError(f"expected a {kind.__name__} object, got {json_kind(data)}")
    names = {f.name for f in fields(kind)}
    unknown = set(data) - names
    if unknown:
        raise InputError(f"unknown {kind.__name__} fields: {', '.join(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    hints = get_type_hints(kind)
    for name, value in values.items():
        if not _has_type(value, hints[name]):
            raise InputError(f"{kind.__name__}.{name}: expected {_type_name(hints[name])}, got {value!r}")
    return kind(**values)


def _has_type(value, hint) -> bool:
    """Whether a JSON value (lists already tuples) fits a field annotation: int, float (an int is fine),
    bool, str, None, unions and tuples."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_has_type(v, args[0]) for v in value)
        return len(value) == len(args) and all(_has_type(v, a) for v, a in zip(value, args))
    if origin in (Union, UnionType):
        return any(_has_type(value, a) for a in args)
    if hint in (int, float):
        return not isinstance(value, bool) and isinstance(value, int if hint is int else (int, float))
    return isinstance(value, hint)


def _type_name(hint) -> str:
    return getattr(hint, "__name__", None) if get_origin(hint) is None else str(hint)
