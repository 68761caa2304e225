"""The one definition of the 512x512 spectrogram that every package uses.

Layout everywhere: ``(batch, frequency bin 0..bins-1, time frame 0..frames-1)``. Levels are in dB relative
to a full-scale sine (an amplitude-1 sine centred on a bin reads 0 dB), clipped to ``[-db_range, 0]``.
Networks see the normalised value ``v = (dB + db_range) / db_range`` in [0, 1]; datasets and PNG files
store its 8-bit form ``round(v * 255)`` (:func:`quantize`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from torch import Tensor


@dataclass(frozen=True)
class SpectrogramConfig:
    """STFT and level settings; stored with every dataset and checkpoint (:meth:`to_json`)."""

    sample_rate: int = 16000  # Hz; audio in any other rate is resampled to this on input
    n_fft: int = 1024  # FFT size; 1024 is ~4x faster than 1022 and gives 513 bins, the top one dropped
    win_length: int = 1024  # periodic Hann window length, equal to n_fft
    hop_length: int = 128  # samples between frames (8 ms)
    frames: int = 512  # time frames of the centred STFT
    bins: int = 512  # frequency bins kept (0..bins-1); the Nyquist bin is dropped
    db_range: float = 80.0  # dB below full scale that maps to 0; levels are clipped to [-db_range, 0]

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("int", int) and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"SpectrogramConfig.{f.name} must be an integer, got {value!r}")
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"SpectrogramConfig.{f.name} must be a finite number, got {value!r}")
            if value <= 0:
                raise ValueError(f"SpectrogramConfig.{f.name} must be positive, got {value!r}")
        object.__setattr__(self, "db_range", float(self.db_range))
        if self.win_length > self.n_fft:
            raise ValueError(f"win_length ({self.win_length}) must not exceed n_fft ({self.n_fft})")
        if self.bins > self.n_fft // 2:
            raise ValueError(f"bins ({self.bins}) must not exceed n_fft // 2 ({self.n_fft // 2})")

    @property
    def num_samples(self) -> int:
        """Audio length whose centred STFT has exactly ``frames`` frames (65408 = 4.088 s by default)."""
        return self.hop_length * (self.frames - 1)

    @property
    def duration_s(self) -> float:
        """Length of :attr:`num_samples` in seconds."""
        return self.num_samples / self.sample_rate

    def bin_hz(self, index: int | float) -> float:
        """Centre frequency of bin ``index`` in Hz."""
        return index * self.sample_rate / self.n_fft

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> SpectrogramConfig:
        """Inverse of :meth:`to_json`; unknown or missing keys are a ``ValueError``."""
        if not isinstance(data, dict):
            raise ValueError(f"spectrogram config: expected a JSON object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        missing = sorted(names - set(data))
        if unknown or missing:
            raise ValueError(f"spectrogram config: unknown keys {unknown}, missing keys {missing}")
        return cls(**data)


DEFAULT_CONFIG = SpectrogramConfig()

# Amplitude floor relative to full scale inside log10 (-200 dB): silence gives a finite level that the
# clip turns into -db_range, with zero (not NaN) gradient.
_FLOOR = 1e-10

#: Rows per STFT pass on the CPU when no gradient is needed. A row's frames, spectrum and levels (~2 MB each) then
#: stay in the cache instead of going through fresh page-faulted memory: 32 rows to 8-bit took 112 ms at once and
#: 28 ms four at a time on a 2-core AMD EPYC; with the cast below, one at a time 1.58 ms a row against four's 1.80
#: on one pinned thread (a dataset render worker) and 0.89 against 0.97 on two (four with the old cast: 2.16 and
#: 1.09; ``benchmarks/results/spectrogram_rows/``), the same bytes (every operation works row by row).
NO_GRAD_ROWS = 1


class Spectrogram(torch.nn.Module):
    """STFT, dB and normalised spectrograms, and the inverse STFT, for one :class:`SpectrogramConfig`.

    Every method works row by row (no cross-example operations), so row ``i`` of a batch is the same as
    computing it alone.
    """

    window: Tensor

    def __init__(self, config: SpectrogramConfig = DEFAULT_CONFIG) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.win_length, periodic=True), persistent=False)
        self._reference = float(torch.hann_window(config.win_length, periodic=True, dtype=torch.float64).sum()) / 2

    @property
    def reference_magnitude(self) -> float:
        """``|stft|`` of an amplitude-1 sine centred on a bin (``window.sum() / 2``): the 0 dB level."""
        return self._reference

    def _check_audio(self, audio: Tensor) -> None:
        n = self.config.num_samples
        if audio.dim() not in (1, 2) or audio.shape[-1] != n:
            raise ValueError(f"expected audio of shape (B, {n}) or ({n},), got {tuple(audio.shape)}")

    def stft(self, audio: Tensor) -> Tensor:
        """Complex STFT. ``audio``: ``Tensor[B, num_samples]`` (or ``[num_samples]``), amplitude in [-1, 1].

        Returns complex ``Tensor[B, bins, frames]`` (or ``[bins, frames]``) in raw ``torch.stft`` units
        (unnormalised: an amplitude-1 bin-centred sine has magnitude :attr:`reference_magnitude`).
        The Nyquist bin is dropped (a view, not a copy).
        """
        self._check_audio(audio)
        c = self.config
        spec = torch.stft(audio, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                          window=self.window, center=True, pad_mode="constant", normalized=False,
                          onesided=True, return_complex=True)
        return spec[..., : c.bins, :]

    def db(self, audio: Tensor) -> Tensor:
        """Level in dB re a full-scale sine, clipped to ``[-db_range, 0]``: ``Tensor[B, bins, frames]``.

        Differentiable: silence gives exactly ``-db_range`` with zero (not NaN) gradient.
        """
        if not self._needs_grad(audio):
            return self._by_rows(audio, None, lambda level: level)
        return self._power_db(self._power(audio))

    def normalized_from_magnitude(self, magnitude: Tensor) -> Tensor:
        """Normalised spectrogram of a linear STFT magnitude ``Tensor[B, bins, frames]`` (as ``stft(audio).abs()``,
        possibly masked): the same arithmetic as :meth:`forward`, differentiable with respect to ``magnitude``."""
        return db_to_normalized(self._power_db(magnitude.square()), self.config)

    def forward(self, audio: Tensor) -> Tensor:
        """Normalised spectrogram ``v = (dB + db_range) / db_range`` in [0, 1]: ``Tensor[B, bins, frames]``."""
        if not self._needs_grad(audio):
            return self._by_rows(audio, None, self._normalize_)
        return db_to_normalized(self._power_db(self._power(audio)), self.config)

    def quantized(self, audio: Tensor) -> Tensor:
        """``quantize(self(audio))``, the stored 8-bit form, bit for bit: ``uint8 Tensor[B, bins, frames]``.

        Never differentiable; a few rows at a time, with no float spectrogram of the whole batch in memory.
        """
        return self._by_rows(audio, torch.uint8, lambda level: self._normalize_(level).clamp_(0.0, 1.0)
                             .mul_(255.0).round_())

    @staticmethod
    def _needs_grad(audio: Tensor) -> bool:
        return torch.is_grad_enabled() and audio.requires_grad

    def _power(self, audio: Tensor) -> Tensor:
        spec = self.stft(audio)
        return torch.addcmul(spec.real.square(), spec.imag, spec.imag)  # |X|^2: faster than abs() on CPU

    def _normalize_(self, level: Tensor) -> Tensor:
        return level.add_(self.config.db_range).div_(self.config.db_range)  # db_to_normalized's arithmetic, in place

    def _by_rows(self, audio: Tensor, dtype: torch.dtype | None, finish: Callable[[Tensor], Tensor]) -> Tensor:
        """``finish(levels in dB)`` of every row, computed :data:`NO_GRAD_ROWS` rows at a time on the CPU (all at
        once elsewhere) into one ``Tensor[B, bins, frames]`` of ``dtype`` (None: the audio's; ``[bins, frames]`` for
        one row)."""
        self._check_audio(audio)
        rows = audio[None] if audio.dim() == 1 else audio
        c = self.config
        out = torch.empty(rows.shape[0], c.bins, c.frames, dtype=dtype or rows.dtype, device=rows.device)
        step = NO_GRAD_ROWS if rows.device.type == "cpu" else max(1, rows.shape[0])
        with torch.no_grad():
            for start in range(0, rows.shape[0], step):
                # Cast where the levels lie (frame-major), then copy: 8-bit rows cost ~0.2 ms less than a cast
                # that also transposes, the same bytes.
                out[start:start + step] = finish(self._power_db(self._power(rows[start:start + step]))).to(out.dtype)
        return out[0] if audio.dim() == 1 else out

    def _power_db(self, power: Tensor) -> Tensor:
        floor = (self._reference * _FLOOR) ** 2
        offset = 20.0 * math.log10(self._reference)
        db_range = self.config.db_range
        if power.requires_grad:
            return (10.0 * torch.log10(power + floor) - offset).clamp(-db_range, 0.0)
        # No autograd: work in place on the fresh power tensor (no further (B, bins, frames) temporaries).
        return power.add_(floor).log10_().mul_(10.0).sub_(offset).clamp_(-db_range, 0.0)

    def istft(self, magnitude: Tensor, phase: Tensor) -> Tensor:
        """Inverse STFT of ``magnitude * exp(i * phase)``, both ``Tensor[B, bins, frames]``.

        ``magnitude`` is in linear STFT units (as ``stft(audio).abs()``), ``phase`` in radians. The Nyquist
        bin is padded back with zeros, so a signal with energy at ``sample_rate / 2`` does not come back
        exactly. Returns ``Tensor[B, num_samples]`` (or ``[num_samples]`` for unbatched input).
        """
        c = self.config
        expected = (c.bins, c.frames)
        if magnitude.shape != phase.shape or tuple(magnitude.shape[-2:]) != expected or magnitude.dim() not in (2, 3):
            raise ValueError(f"expected magnitude and phase of shape (B, {c.bins}, {c.frames}), "
                             f"got {tuple(magnitude.shape)} and {tuple(phase.shape)}")
        spec = torch.polar(magnitude, phase)
        missing_bins = c.n_fft // 2 + 1 - c.bins
        spec = torch.nn.functional.pad(spec, (0, 0, 0, missing_bins))
        return torch.istft(spec, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length,
                           window=self.window, center=True, normalized=False, onesided=True,
                           length=c.num_samples)


def normalized_to_db(v: Tensor, config: SpectrogramConfig = DEFAULT_CONFIG) -> Tensor:
    """Normalised values in [0, 1] (any shape) -> dB in ``[-db_range, 0]``."""
    return v * config.db_range - config.db_range


def db_to_normalized(level_db: Tensor, config: SpectrogramConfig = DEFAULT_CONFIG) -> Tensor:
    """dB in ``[-db_range, 0]`` (any shape) -> normalised values in [0, 1]."""
    return (level_db + config.db_range) / config.db_range


def quantize(v: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """Normalised values (any shape; clamped to [0, 1]) -> uint8 ``round(v * 255)``, same container type."""
    if isinstance(v, np.ndarray):
        return np.rint(np.clip(v, 0.0, 1.0) * 255.0).astype(np.uint8)
    return torch.round(v.detach().clamp(0.0, 1.0) * 255.0).to(torch.uint8)


def dequantize(u8: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """uint8 values (any shape) -> float32 normalised values ``u8 / 255``, same container type."""
    if isinstance(u8, np.ndarray):
        return u8.astype(np.float32) / np.float32(255.0)
    return u8.to(torch.float32) / 255.0


def distance_db(a_db: Tensor, b_db: Tensor) -> Tensor:
    """Spectral distance: mean over all bins and frames of ``|a_db - b_db|``, in dB.

    Inputs are clipped dB spectrograms ``(bins, frames)`` or ``(B, bins, frames)``; they broadcast, so one
    target ``(bins, frames)`` can be compared with ``B`` candidates. Returns ``Tensor[B]`` (a 0-d tensor
    when both inputs are unbatched).
    """
    if a_db.dim() not in (2, 3) or b_db.dim() not in (2, 3) or a_db.shape[-2:] != b_db.shape[-2:]:
        raise ValueError(f"expected dB spectrograms of shape (B, bins, frames) or (bins, frames), "
                         f"got {tuple(a_db.shape)} and {tuple(b_db.shape)}")
    # Sum rows of bins first, then the row sums: one fixed summation order whatever the batch size or
    # thread count (a single 262144-element reduction is split across threads when the batch is small).
    gap = (a_db - b_db).abs()
    return gap.sum(dim=-1).sum(dim=-1) / (gap.shape[-1] * gap.shape[-2])


@functools.lru_cache(maxsize=16)
def _module(config: SpectrogramConfig, device: torch.device, dtype: torch.dtype) -> Spectrogram:
    return Spectrogram(config).to(device=device, dtype=dtype)


def spectrogram(audio: Tensor, config: SpectrogramConfig = DEFAULT_CONFIG) -> Tensor:
    """Normalised spectrogram of ``audio`` ``Tensor[B, num_samples]`` -> ``Tensor[B, bins, frames]`` in [0, 1].

    Convenience wrapper around a cached :class:`Spectrogram` for the audio's device and dtype.
    """
    return _module(config, audio.device, audio.dtype)(audio)


def audio_from_spectrogram(v: Tensor, config: SpectrogramConfig = DEFAULT_CONFIG, iterations: int = 32,
                           momentum: float = 0.99) -> Tensor:
    """A sound whose spectrogram is (close to) ``v``: fast Griffin-Lim (Perraudin et al. 2013) from zero phase.

    ``v``: normalised spectrogram ``Tensor[bins, frames]`` or ``Tensor[B, bins, frames]``. Levels at the
    floor (-db_range) count as silence. Deterministic (no random initial phase). Returns ``Tensor[B,
    num_samples]`` (or ``[num_samples]``). For comparing sounds when only a spectrogram was given: the
    magnitudes are right, the phase is an estimate (some smearing of sharp onsets).
    """
    module = _module(config, v.device, torch.float32)
    level_db = normalized_to_db(v.float(), config)
    magnitude = torch.where(level_db > -config.db_range, module.reference_magnitude * 10.0 ** (level_db / 20.0),
                            torch.zeros_like(level_db))
    phase = torch.zeros_like(magnitude)
    previous = None
    for _ in range(iterations):
        audio = module.istft(magnitude, phase)
        estimate = module.stft(audio)
        if previous is not None:
            accelerated = estimate + momentum * (estimate - previous)
        else:
            accelerated = estimate
        previous = estimate
        phase = torch.angle(accelerated)
    return module.istft(magnitude, phase)
