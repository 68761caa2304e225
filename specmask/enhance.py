"""Applying a mask generator to audio of any length: offline (overlap-add) and streaming (sliding window).

The generator sees one 512x512 spectrogram = ``W = 65408`` samples (4.088 s) at 16 kHz. A window is
enhanced by: STFT -> normalised spectrogram -> mask -> mask controls -> mask x STFT magnitude -> inverse
STFT with the mixture's phase (:func:`enhance_window`).

- :class:`OverlapAdd` (offline): windows every ``W / 2`` samples, cross-faded with a periodic Hann window
  (two windows sum to 1 at every sample), fed in chunks of any size and emitting finished samples as it
  goes, so memory stays constant whatever the input length.
- :class:`Streaming` (real time): after every ``block`` new samples, the last ``W`` samples are enhanced
  and the ``block`` samples ending ``lookahead`` samples before the newest are emitted. Algorithmic
  latency: ``block + lookahead`` samples; the lookahead gives the newest emitted frames some future
  context (the STFT window is 1024 samples).

Both take and return ``float32 Tensor[C, n]`` chunks (channels are processed as a batch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from synth.spectrogram import DEFAULT_CONFIG, Spectrogram

WINDOW = DEFAULT_CONFIG.num_samples

MaskFn = Callable[[torch.Tensor], torch.Tensor]  # normalised spec (B, 1, 512, 512) -> mask (B, 1, 512, 512)


@dataclass(frozen=True)
class MaskControls:
    """Creative controls applied to every mask: ``m -> 1 + strength (m - 1)`` (wet/dry; 0 = bypass), then
    ``max(m, floor)``, then with ``invert`` ``max(1 - m, 0)`` (keep what the mask removes)."""

    strength: float = 1.0
    floor: float = 0.0
    invert: bool = False

    def __post_init__(self):
        if not 0.0 <= self.strength <= 2.0 or not 0.0 <= self.floor <= 1.0:
            raise ValueError(f"expected strength in [0, 2] and floor in [0, 1], got {self.strength}, {self.floor}")

    def apply(self, mask: torch.Tensor) -> torch.Tensor:
        mask = (1.0 + self.strength * (mask - 1.0)).clamp(min=0.0).clamp(min=self.floor)
        return (1.0 - mask).clamp(min=0.0) if self.invert else mask


class WindowEnhancer:
    """``__call__(audio: Tensor[B, W]) -> (enhanced Tensor[B, W], mask Tensor[B, 512, 512])``."""

    def __init__(self, mask_fn: MaskFn, controls: MaskControls | None = None, fixed_mask: torch.Tensor | None = None):
        self.mask_fn, self.controls = mask_fn, controls or MaskControls()
        self.fixed_mask = fixed_mask  # Tensor[512, 512]: apply this (edited) mask instead of the model's
        self.spectrogram = Spectrogram(DEFAULT_CONFIG)

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stft = self.spectrogram.stft(audio)
        if self.fixed_mask is not None:
            mask = self.fixed_mask.expand(audio.shape[0], -1, -1)
        else:
            mask = self.mask_fn(self.spectrogram(audio)[:, None])[:, 0]
        mask = self.controls.apply(mask)
        return self.spectrogram.istft(stft.abs() * mask, stft.angle()), mask


class OverlapAdd:
    """Offline enhancement in constant memory: ``push(chunk) -> finished samples``, then ``flush()``.

    Output sample ``t`` corresponds to input sample ``t``; the total output length equals the input's.
    """

    def __init__(self, enhancer: WindowEnhancer, channels: int):
        self.enhancer, self.hop = enhancer, WINDOW // 2
        self.crossfade = torch.hann_window(WINDOW, periodic=True)
        # Half a window of silence first, so every real sample is covered by two windows.
        self.pending = torch.zeros(channels, self.hop)  # input not yet fully used
        self.accumulated = torch.zeros(channels, self.hop)  # output of the previous window's second half
        self.skip, self.received, self.emitted = self.hop, 0, 0
        self.last_mask: torch.Tensor | None = None  # the latest window's mask (Tensor[C, 512, 512])

    def push(self, chunk: torch.Tensor) -> torch.Tensor:
        """Feed ``Tensor[C, n]`` input; returns the output samples that are final (``Tensor[C, m]``)."""
        self.received += chunk.shape[1]
        return self._process(chunk)

    def flush(self) -> torch.Tensor:
        """End of input: pad with silence until every received sample has been emitted."""
        return self._process(torch.zeros(self.pending.shape[0], WINDOW))

    def _process(self, chunk: torch.Tensor) -> torch.Tensor:
        self.pending = torch.cat([self.pending, chunk], dim=1)
        out = []
        while self.pending.shape[1] >= WINDOW:
            enhanced, self.last_mask = self.enhancer(self.pending[:, :WINDOW])
            weighted = enhanced * self.crossfade
            out.append(self.accumulated + weighted[:, : self.hop])
            self.accumulated = weighted[:, self.hop:]
            self.pending = self.pending[:, self.hop:]
        result = torch.cat(out, dim=1) if out else torch.zeros(self.pending.shape[0], 0)
        if self.skip:  # the leading half window of padding
            drop = min(self.skip, result.shape[1])
            result, self.skip = result[:, drop:], self.skip - drop
        result = result[:, : max(0, self.received - self.emitted)]
        self.emitted += result.shape[1]
        return result


class Streaming:
    """Real-time enhancement: ``push(chunk) -> samples``, whole blocks at a time.

    Output sample ``m`` is the enhanced input sample ``m - lookahead`` (the first ``lookahead`` output
    samples come from the silence before the input). A sample waits at most ``latency = block +
    lookahead`` samples (plus compute time) between arriving and leaving.
    """

    def __init__(self, enhancer: WindowEnhancer, channels: int, block: int = 2048, lookahead: int = 512):
        if not 0 < block <= WINDOW // 2 or not 0 <= lookahead <= WINDOW // 4:
            raise ValueError(f"expected 0 < block <= {WINDOW // 2} and 0 <= lookahead <= {WINDOW // 4} samples")
        self.enhancer, self.block, self.lookahead = enhancer, block, lookahead
        self.history = torch.zeros(channels, WINDOW)
        self.pending = torch.zeros(channels, 0)
        self.latency = block + lookahead

    def push(self, chunk: torch.Tensor) -> torch.Tensor:
        self.pending = torch.cat([self.pending, chunk], dim=1)
        out = []
        while self.pending.shape[1] >= self.block:
            self.history = torch.cat([self.history[:, self.block:], self.pending[:, : self.block]], dim=1)
            self.pending = self.pending[:, self.block:]
            enhanced, _ = self.enhancer(self.history)
            end = WINDOW - self.lookahead
            out.append(enhanced[:, end - self.block: end])
        return torch.cat(out, dim=1) if out else torch.zeros(self.history.shape[0], 0)
