"""Full-band enhancement: the 16 kHz model's mask applied to the input's own STFT at the input's own rate.

The model sees 16 kHz (a 512x512 spectrogram, bins every 15.625 Hz up to 8 kHz, frames every 8 ms). For an
input at ``rate`` > 16 kHz, :class:`FullBandEnhancer` enhances a window of the *original* signal:

1. the window is resampled to 16 kHz and the mask computed exactly as for a 16 kHz input (same controls);
2. the window's own STFT uses the same time grid: ``hop = 8 ms`` (rounded to an even number of samples),
   ``n_fft = 8 hop``, 512 centred frames, so frame ``i`` at either rate is the same moment (exactly at 32,
   48, 96 and 192 kHz; within 0.2 % of the frame time at 44.1 kHz) and its bins fall every
   ``rate / n_fft`` Hz (15.625 Hz at integer multiples of 16 kHz);
3. below 8 kHz each bin takes the mask at its frequency (linear interpolation between the model's bins: an
   exact copy at integer multiples); above 8 kHz, where the model sees nothing, each frame's gain is the mean
   of its mask over the top band, 6-8 kHz (:data:`TOP_BAND_HZ`). The nearest content the model judged decides:
   noise that the mask removes at 6-8 kHz is removed above too, highs of a kept sound stay, and there is no
   step in gain at the 8 kHz edge;
4. the masked STFT is inverted with the input's phase at the input's rate.

With a mask of ones the window comes back unchanged, full band included. Inputs at 16 kHz or below keep the
16 kHz path (:class:`~specmask.enhance.WindowEnhancer`), so their output is what it was.
"""

from __future__ import annotations

import torch
import torchaudio.functional as AF

from specmask.enhance import MaskControls, MaskFn, WindowEnhancer
from synth.audio_io import fit_length
from synth.spectrogram import DEFAULT_CONFIG

RATE = DEFAULT_CONFIG.sample_rate
TOP_BAND_HZ = (6000.0, 8000.0)  # the model's band whose mean gain extends the mask above 8 kHz
_BIN_HZ = RATE / DEFAULT_CONFIG.n_fft  # 15.625 Hz


def grid(rate: int) -> tuple[int, int, int]:
    """``(hop, n_fft, window)`` in samples at ``rate``: the 16 kHz STFT's time grid (8 ms hop, even, ``n_fft =
    8 hop`` so that Hann windows overlap-add to a constant) and a window of 511 hops (512 centred frames)."""
    hop = 2 * round(DEFAULT_CONFIG.hop_length * rate / RATE / 2)
    return hop, 8 * hop, hop * (DEFAULT_CONFIG.frames - 1)


def extend_mask(mask: torch.Tensor, rate: int) -> torch.Tensor:
    """The model's mask ``Tensor[B, 512, frames]`` (16 kHz bins) -> ``Tensor[B, n_fft // 2 + 1, frames]`` on the
    bins of :func:`grid`'s STFT at ``rate``: interpolated below 8 kHz, the 6-8 kHz mean above."""
    _, n_fft, _ = grid(rate)
    bins = mask.shape[1]
    position = torch.arange(n_fft // 2 + 1, dtype=torch.float64) * (rate / n_fft) / _BIN_HZ  # in model bins
    inside = position <= bins - 1
    low = position[inside].floor().long().clamp(max=bins - 1)
    high = (low + 1).clamp(max=bins - 1)
    weight = (position[inside] - low).to(mask.dtype)[None, :, None]
    below = mask[:, low] * (1 - weight) + mask[:, high] * weight
    top = slice(int(TOP_BAND_HZ[0] / _BIN_HZ), bins)
    above = mask[:, top].mean(dim=1, keepdim=True).expand(-1, int((~inside).sum()), -1)
    return torch.cat([below, above], dim=1)


class FullBandEnhancer:
    """``__call__(audio: Tensor[B, window]) -> (enhanced Tensor[B, window], mask Tensor[B, 512, 512])`` at
    ``rate`` (> 16 kHz), for the engines of :mod:`specmask.enhance` (``window`` samples, see :func:`grid`)."""

    def __init__(self, mask_fn: MaskFn, rate: int, controls: MaskControls | None = None,
                 fixed_mask: torch.Tensor | None = None):
        if rate <= RATE:
            raise ValueError(f"full-band enhancement is for rates above {RATE} Hz, got {rate} Hz")
        self.rate = rate
        self.hop, self.n_fft, self.window = grid(rate)
        self.model = WindowEnhancer(mask_fn, controls, fixed_mask)  # the 16 kHz mask, controls applied
        self.stft_window = torch.hann_window(self.n_fft, periodic=True)

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        narrow = fit_length(AF.resample(audio, self.rate, RATE), DEFAULT_CONFIG.num_samples)
        mask = self.model.mask(narrow)
        stft = torch.stft(audio, self.n_fft, self.hop, window=self.stft_window, center=True, pad_mode="constant",
                          return_complex=True)
        full = extend_mask(mask, self.rate)
        enhanced = torch.istft(torch.polar(stft.abs() * full, stft.angle()), self.n_fft, self.hop,
                               window=self.stft_window, center=True, length=audio.shape[-1])
        return enhanced, mask
