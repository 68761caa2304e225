"""Typed configuration of the mask model and its losses; saved with every checkpoint (``to_json``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from inverse.config import BackboneConfig, build_dataclass
from synth.errors import InputError

ANY = "any"  # the cue that names no class: keep every sound


@dataclass(frozen=True)
class GeneratorConfig:
    """Top-down decoder over the backbone's feature pyramid -> a mask ``(B, 1, 512, 512)``."""

    decoder_width: int = 32  # channels of the top-down path (strides 64 .. 8)
    subpixel_channels: int = 64  # channels of the sub-pixel stage that places the mask to the bin
    mask_max: float = 1.0  # masks lie in [0, mask_max]; 1 suppresses only, > 1 lets `enhance` boost bands
    identity_init: bool = True  # start as the identity mask (the sparsity prior's optimum)
    # Sound classes the model can be told to keep (``specmask enhance --keep CLASS``; cue 0 is "any": keep every
    # sound, remove noise). Empty: no cue (the first models). See specmask.generator.
    classes: tuple[str, ...] = ()

    def __post_init__(self):
        if self.decoder_width < 1 or self.subpixel_channels < 1 or not self.mask_max >= 1.0:
            raise InputError(f"decoder_width and subpixel_channels must be positive and mask_max >= 1, got "
                             f"{self.decoder_width}, {self.subpixel_channels}, {self.mask_max}")
        if len(set(self.classes)) != len(self.classes) or ANY in self.classes or not all(self.classes):
            raise InputError(f"classes must be distinct non-empty names other than {ANY!r}, got {self.classes}")

    def cue(self, keep: str | None) -> int:
        """The cue index of ``keep`` (a class name, or ``None`` / ``"any"``: 0)."""
        if keep is None or keep == ANY:
            return 0
        if keep not in self.classes:
            known = ", ".join(self.classes) if self.classes else "none: this model takes no --keep"
            raise InputError(f"unknown class to keep {keep!r}; this model knows {known}")
        return 1 + self.classes.index(keep)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Patch discriminator on (spectrogram, mixture) pairs."""

    widths: tuple[int, ...] = (32, 64, 128)  # channels of the stride-4 patchify, then stride-2 4x4 convolutions

    def __post_init__(self):
        if not self.widths or any(w < 1 for w in self.widths):
            raise InputError(f"discriminator widths must be positive, got {self.widths}")


@dataclass(frozen=True)
class LossConfig:
    """Weights of the generator's loss terms (0 switches a term off)."""

    spectral: float = 1.0  # L1 between enhanced and clean normalised log-magnitude spectrograms
    waveform: float = 1.0  # waveform term after the inverse STFT (see waveform_kind)
    waveform_kind: str = "sisdr"  # sisdr (negative SI-SDR / 50) or mrstft (multi-resolution STFT)
    adversarial: float = 0.05  # generator's adversarial term (see adversarial_kind)
    adversarial_kind: str = "lsgan"  # lsgan (least squares) or hinge
    perceptual: float = 0.1  # L1 between frozen-network features of enhanced and clean spectrograms
    sparsity: float = 0.01  # mean |mask - 1|: change only the bands that need it

    def __post_init__(self):
        if self.waveform_kind not in ("mrstft", "sisdr") or self.adversarial_kind not in ("lsgan", "hinge"):
            raise InputError(f"waveform_kind must be mrstft or sisdr and adversarial_kind lsgan or hinge, got "
                             f"{self.waveform_kind!r}, {self.adversarial_kind!r}")
        weights = (self.spectral, self.waveform, self.adversarial, self.perceptual, self.sparsity)
        if any(w < 0 for w in weights):
            raise InputError(f"loss weights must be non-negative, got {weights}")


@dataclass(frozen=True)
class MaskModelConfig:
    backbone: BackboneConfig = BackboneConfig()
    generator: GeneratorConfig = GeneratorConfig()
    discriminator: DiscriminatorConfig = DiscriminatorConfig()

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> MaskModelConfig:
        parts = {"backbone": BackboneConfig, "generator": GeneratorConfig, "discriminator": DiscriminatorConfig}
        unknown = set(data) - set(parts)
        if unknown:
            raise InputError(f"unknown mask model config sections: {', '.join(sorted(unknown))}")
        return cls(**{name: build_dataclass(kind, data[name]) for name, kind in parts.items() if name in data})

