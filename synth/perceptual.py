"""Perceptual distances between sounds: the field's multi-scale log-mel distance ("MSS"), a pitch-sensitive
spectral-shape distance, and the ranking distance that adds them.

- :func:`mss_distance`, as the field computes it (Hayes et al. 2025): the L1 distance between log-mel
  spectrograms at three resolutions, windows of about 10, 25 and 100 ms, averaged over the scales.
  Magnitudes are scaled so that a full-scale sine peaks at 1 in its mel band (0 dB, as in the spectrogram
  contract), floored at -80 dB (the contract's range) and compared as natural logs: one unit is 8.7 dB, and
  the largest possible distance (full scale against silence) is ln(10^4) = 9.21. Benchmarks headline it.
- :func:`shape_distance`: 1 - cosine similarity of the two sounds' long-term average magnitude spectra at
  2 Hz resolution (8192-point frames), square-root compressed (:data:`SHAPE_POWER`), in [0, 1]. It ignores
  time (a longer tail leaves it near 0) and sees every partial as a separate line, so a pitch a semitone off
  scores near 1 for a sine, where MSS barely moves: a mel band at 110 Hz is wider than a semitone, and a
  single partial is a small part of the spectrogram (``tests/synth/test_perceptual.py`` has the numbers).
- :func:`suboctave_excess`: given the target's pitch f0, how far (in 10 dB units) a sound's energy at f0 / 2 and
  3 f0 / 2, the partials a layer an octave below adds, exceeds the target's there. CREPE (the pitch check's
  tracker) does not hear such a layer; pYIN and listeners do (``benchmarks/pitch_misses.py``).
- :func:`match_distance` = MSS + :data:`SHAPE_WEIGHT` x shape (+ :data:`SUBOCTAVE_WEIGHT` x sub-octave excess
  where the target's pitch is known): what ranks candidates. It penalises a wrong pitch far more than a slightly
  different tail, which MSS alone does not for simple tones. Against a target that sounds in less than half the
  window (a drum hit, a pluck), the MSS counts per sounding frame (:func:`mss_weight`), so that a candidate at the
  target's level wins over a faint copy of it.

:func:`synth.spectrogram.distance_db` stays reported beside them. Compute a target's features once with
:func:`features` and compare many candidates against them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchaudio.functional as AF
from torch import nn
from torch.autograd.function import once_differentiable

from synth.spectrogram import DEFAULT_CONFIG

SHAPE_WEIGHT = 1.0  # match_distance = mss + SHAPE_WEIGHT * shape
SHAPE_FFT = 8192  # long-term average spectrum: 2 Hz bins at 16 kHz
SHAPE_HOP = 2048
# The shape spectrum is magnitude ** SHAPE_POWER: compressed, so that weak partials count (the odd partials that
# tell a note from the one an octave below it). On 21 held-out in-domain targets (12 whose best candidate had
# the wrong pitch), the best candidate's pitch was right on 13 with 0.5, 11 with 1.0 (linear) and 11 with 0.3,
# at a best-of-10 MSS of 0.264, 0.281 and 0.265 (issue 13's notes).
SHAPE_POWER = 0.5
SUBOCTAVE_WEIGHT = 0.1  # match distance added per 10 dB of sub-octave excess
SUBOCTAVE_PARTIALS = (0.5, 1.5)  # multiples of the target's f0 where a layer an octave below puts partials
SUBOCTAVE_FLOOR_DB = -40.0  # energy shares below this (of the sound's energy) count as this
SUBOCTAVE_WIDTH = 0.03  # relative half-width of the band around each partial
# A short sound (a drum hit, a pluck, a blip) fills a few per cent of the 4.088 s window: averaged over all of it,
# its MSS is a few hundredths whatever the candidate sounds like there, and the level-blind shape term decides the
# ranking (candidates 30 dB too quiet won). match_distance therefore weighs the MSS by SOUNDING_SHARE / the share
# of the reference's frames that sound (at least 1): the MSS per sounding frame, for a sound shorter than half the
# window. A frame sounds when its loudest mel band (25 ms scale) is within SOUNDING_DB of the loudest frame's and
# SOUNDING_OVER_FLOOR_DB over the floor.
SOUNDING_SHARE = 0.5
SOUNDING_DB = 60.0
SOUNDING_OVER_FLOOR_DB = 6.0
SOUNDING_SCALE = 1  # index into MSSConfig.windows: 400 samples, 25 ms
DB_PER_NEPER = 20.0 / math.log(10.0)  # natural-log magnitude units -> dB


@dataclass(frozen=True)
class MSSConfig:
    sample_rate: int = DEFAULT_CONFIG.sample_rate  # Hz
    windows: tuple[int, ...] = (160, 400, 1600)  # samples: 10, 25 and 100 ms at 16 kHz
    mel_bands: tuple[int, ...] = (32, 64, 128)  # per scale: no band narrower than the scale's bin spacing
    hop_divisor: int = 4  # hop = window / 4 (75 % overlap)
    floor_db: float = -80.0  # magnitudes below this (re a full-scale sine) count as this


class _StftMagnitude(torch.autograd.Function):
    """``|torch.stft|`` of an already padded signal with a hand-written backward: ``forward(padded Tensor[B, M],
    window Tensor[W], n_fft, hop) -> Tensor[B, n_fft // 2 + 1, frames]`` (``center=False``; the window centred in
    each ``n_fft``-long frame, as ``torch.stft`` places it). Autograd's own backward of ``torch.stft(...).abs()``
    (a complex-to-complex FFT per frame, an ``index_add_`` over the strided frames, several full-size copies) took
    3x the forward; this one is an inverse real FFT and ``W / hop`` shifted additions, 2-3x faster."""

    @staticmethod
    def forward(ctx, padded: torch.Tensor, window: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
        spectrum = torch.stft(padded, n_fft, hop, window.numel(), window, center=False, return_complex=True)
        magnitude = spectrum.abs()
        ctx.save_for_backward(spectrum, magnitude, window)
        ctx.n_fft, ctx.hop, ctx.length = n_fft, hop, padded.shape[-1]
        return magnitude

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        spectrum, magnitude, window = ctx.saved_tensors
        n_fft, hop, width = ctx.n_fft, ctx.hop, window.numel()
        # d|X|/dX = X / |X| (0 where X = 0; below 1e-30 the gradient fades rather than overflow); rfft's adjoint is
        # n_fft x irfft of the gradient with its inner bins halved (irfft counts each of them twice, for the
        # negative frequencies).
        scale = torch.full((spectrum.shape[1], 1), 0.5 * n_fft, dtype=magnitude.dtype, device=magnitude.device)
        scale[0] = scale[-1] = n_fft
        coefficient = grad * scale / magnitude.clamp_min(1e-30)
        offset = (n_fft - width) // 2  # where torch.stft puts the window in the frame
        frames = torch.fft.irfft((spectrum * coefficient).transpose(1, 2), n=n_fft)[..., offset: offset + width]
        frames = frames * window  # (B, T, W)
        batch, count, parts = frames.shape[0], frames.shape[1], width // hop
        out = frames.new_zeros(batch, count + parts - 1, hop)  # overlap-add, in hop-long pieces
        for j, part in enumerate(frames.view(batch, count, parts, hop).unbind(2)):
            out[:, j: j + count] += part
        out = out.view(batch, -1)
        return F.pad(out, (offset, ctx.length - offset - out.shape[1])), None, None, None


def stft_magnitude(audio: torch.Tensor, window: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """``torch.stft(audio, n_fft, hop, len(window), window, center=True).abs()`` (reflect padding), the same values,
    ``Tensor[B, n_fft // 2 + 1, frames]``, with a faster backward (gradients equal to float rounding). The window's
    length must be a multiple of ``hop``."""
    width = window.numel()
    if width % hop or width > n_fft:
        raise ValueError(f"window of {width} samples: expected a multiple of the hop ({hop}), at most n_fft ({n_fft})")
    padded = F.pad(audio[:, None], (n_fft // 2, n_fft // 2), mode="reflect")[:, 0]
    return _StftMagnitude.apply(padded, window, n_fft, hop)


class MultiScaleMel(nn.Module):
    """``forward(audio: Tensor[B, N]) -> list of Tensor[B, mel_bands_s, frames_s]``: natural-log mel magnitudes
    per scale, floored. Windows and filterbanks are buffers (built once)."""

    def __init__(self, config: MSSConfig | None = None):
        super().__init__()
        self.config = config = config or MSSConfig()
        self.floor = 10.0 ** (config.floor_db / 20.0)
        for k, (window, bands) in enumerate(zip(config.windows, config.mel_bands)):
            n_fft = 1 << (window - 1).bit_length()
            hann = torch.hann_window(window, periodic=True, dtype=torch.float64)
            # A full-scale sine's STFT peak is sum(window) / 2: divide it out so that it reads 1 (0 dB).
            self.register_buffer(f"window{k}", (hann / (hann.sum() / 2)).float(), persistent=False)
            fbank = AF.melscale_fbanks(n_fft // 2 + 1, 0.0, config.sample_rate / 2, bands, config.sample_rate,
                                       norm=None, mel_scale="htk")
            self.register_buffer(f"fbank{k}", fbank.T.contiguous(), persistent=False)  # (bands, bins)

    def forward(self, audio: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for k, window in enumerate(self.config.windows):
            n_fft = 1 << (window - 1).bit_length()
            spec = stft_magnitude(audio, getattr(self, f"window{k}"), n_fft, window // self.config.hop_divisor)
            mel = torch.matmul(getattr(self, f"fbank{k}"), spec)
            out.append(torch.log(mel.clamp_min(self.floor)))
        return out


@dataclass
class Features:
    """What the distances compare, for ``B`` sounds: ``mels`` (one ``Tensor[B, bands, frames]`` of log-mel
    magnitudes per scale) and ``shape`` (``Tensor[B, SHAPE_FFT // 2 + 1]``, the long-term average magnitude
    spectrum to the power :data:`SHAPE_POWER`, unit norm)."""

    mels: list[torch.Tensor]
    shape: torch.Tensor


@functools.lru_cache(maxsize=4)
def _extractors(device: torch.device) -> tuple[MultiScaleMel, torch.Tensor]:
    """The multi-scale mel module and the shape window on ``device``, built once per device."""
    return MultiScaleMel().to(device), torch.hann_window(SHAPE_FFT, device=device)


def features(audio: torch.Tensor) -> Features:
    """Features of ``audio`` ``Tensor[B, N]`` at 16 kHz. Differentiable.

    On the CPU each row is computed on its own, with or without a gradient: the same values whatever the batch, bit
    for bit (a batch at once rounds the spectral shape of rows differently from 4 rows up), so refinement's distances
    are :func:`inverse.target.score`'s and a row's gradient is the one it gets alone. Without a gradient it is also
    faster, because one row's STFTs stay in the cache: 128 rendered rows took 0.6 s row by row against 2.8-3.5 s at
    once on a 2-core AMD EPYC (with a gradient, ten refinement steps of 16 rows took 3.5-3.8 s either way).
    """
    if audio.shape[0] > 1 and audio.device.type == "cpu":
        with torch.set_grad_enabled(torch.is_grad_enabled() and audio.requires_grad):
            rows = [_batch_features(row) for row in audio.split(1)]
        return Features([torch.cat(scale) for scale in zip(*(row.mels for row in rows))],
                        torch.cat([row.shape for row in rows]))
    return _batch_features(audio)


def _batch_features(audio: torch.Tensor) -> Features:
    """:func:`features` of the whole batch at once (a GPU's way)."""
    mel, window = _extractors(audio.device)
    power = stft_magnitude(audio, window, SHAPE_FFT, SHAPE_HOP).pow(2)
    average = power.mean(dim=-1).clamp_min(1e-20).pow(SHAPE_POWER / 2)
    return Features(mel(audio), average / average.norm(dim=-1, keepdim=True))


def _features(x: torch.Tensor | Features) -> Features:
    return features(x) if isinstance(x, torch.Tensor) else x


def mss_distance(a: torch.Tensor | Features, b: torch.Tensor | Features) -> torch.Tensor:
    """Multi-scale log-mel distance ``Tensor[B]`` (natural-log units, see the module docstring) between audio
    ``Tensor[B, N]`` (or ``Tensor[1, N]``, broadcast) or :class:`Features`."""
    fa, fb = _features(a), _features(b)
    return torch.stack([(x - y).abs().mean(dim=(1, 2)) for x, y in zip(fa.mels, fb.mels)]).mean(dim=0)


def sounding_share(x: torch.Tensor | Features) -> torch.Tensor:
    """The share of each sound's frames (25 ms windows, 6.25 ms apart) that sound (see :data:`SOUNDING_SHARE`):
    ``Tensor[B]`` in [0, 1]; 0 for silence."""
    level = _features(x).mels[SOUNDING_SCALE].amax(dim=1)  # (B, frames), natural-log magnitudes
    floor = MSSConfig.floor_db / DB_PER_NEPER + SOUNDING_OVER_FLOOR_DB / DB_PER_NEPER
    threshold = (level.amax(dim=1, keepdim=True) - SOUNDING_DB / DB_PER_NEPER).clamp_min(floor)
    return (level > threshold).float().mean(dim=1)


def mss_weight(reference: torch.Tensor | Features) -> torch.Tensor:
    """How much :func:`match_distance` weighs the MSS against ``reference``: ``SOUNDING_SHARE / sounding_share``,
    at least 1 (1 for every sound that sounds in half the window or more), ``Tensor[B]``."""
    return (SOUNDING_SHARE / sounding_share(reference).clamp_min(1e-3)).clamp_min(1.0)


def shape_distance(a: torch.Tensor | Features, b: torch.Tensor | Features) -> torch.Tensor:
    """1 - cosine similarity of compressed long-term average magnitude spectra: ``Tensor[B]`` in [0, 1]."""
    fa, fb = _features(a), _features(b)
    return (1.0 - (fa.shape * fb.shape).sum(dim=-1)).clamp_min(0.0)


def band_share_db(shape: torch.Tensor, hz: float, width: float = SUBOCTAVE_WIDTH) -> torch.Tensor:
    """Share of each sound's energy within ``hz`` +- ``width`` (relative), in dB, ``Tensor[B]``, from its
    :class:`Features` ``shape`` (``Tensor[B, SHAPE_FFT // 2 + 1]``). Differentiable."""
    power = shape.pow(2.0 / SHAPE_POWER)
    bin_hz = DEFAULT_CONFIG.sample_rate / SHAPE_FFT
    band = power[:, int(hz * (1 - width) / bin_hz): int(hz * (1 + width) / bin_hz) + 1].sum(dim=1)
    return 10 * torch.log10(band / power.sum(dim=1) + 1e-12)


def suboctave_excess(a: torch.Tensor | Features, b: torch.Tensor | Features, f0_hz: float) -> torch.Tensor:
    """How far ``a``'s energy shares at :data:`SUBOCTAVE_PARTIALS` x ``f0_hz`` (``b``'s pitch) exceed ``b``'s,
    summed over those partials, in units of 10 dB (shares floored at :data:`SUBOCTAVE_FLOOR_DB`): ``Tensor[B]``,
    0 where ``a`` adds no layer an octave below ``b``, and everywhere when ``f0_hz`` is NaN (no clear pitch)."""
    fa, fb = _features(a), _features(b)
    excess = torch.zeros(fa.shape.shape[0], device=fa.shape.device)
    if math.isnan(f0_hz) or f0_hz * max(SUBOCTAVE_PARTIALS) * (1 + SUBOCTAVE_WIDTH) >= DEFAULT_CONFIG.sample_rate / 2:
        return excess
    for multiple in SUBOCTAVE_PARTIALS:
        share_a, share_b = (band_share_db(f.shape, multiple * f0_hz).clamp_min(SUBOCTAVE_FLOOR_DB) for f in (fa, fb))
        excess = excess + (share_a - share_b).clamp_min(0.0) / 10.0
    return excess


def match_distance(a: torch.Tensor | Features, b: torch.Tensor | Features,
                   f0_hz: float = float("nan")) -> torch.Tensor:
    """The ranking distance ``Tensor[B]`` of sounds ``a`` to the reference ``b``: ``mss_weight(b) * mss_distance +
    SHAPE_WEIGHT * shape_distance``, plus ``SUBOCTAVE_WEIGHT * suboctave_excess`` where ``b``'s pitch ``f0_hz``
    (Hz) is known."""
    fa, fb = _features(a), _features(b)
    distance = mss_weight(fb) * mss_distance(fa, fb) + SHAPE_WEIGHT * shape_distance(fa, fb)
    if math.isnan(f0_hz) or SUBOCTAVE_WEIGHT == 0:
        return distance
    return distance + SUBOCTAVE_WEIGHT * suboctave_excess(fa, fb, f0_hz)
