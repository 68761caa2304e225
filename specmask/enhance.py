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


MODES = ("denoise", "separate", "enhance")
"""``denoise`` and ``separate`` only suppress (the mask is capped at 1; ``separate`` also writes the rest,
input minus output); ``enhance`` lets a model trained with ``mask_max > 1`` boost bands."""


@dataclass(frozen=True)
class MaskControls:
    """Controls applied to every mask: with ``ceiling`` ``min(m, ceiling)`` (the mode's cap), then ``m ** exponent``
    (above 1: deeper cuts where the model only half suppresses, a gain of 1 left at 1), then
    ``m -> 1 + strength (m - 1)`` (wet/dry; 0 = bypass), then ``max(m, floor)``, then with ``invert``
    ``max(1 - m, 0)`` (keep what the mask removes)."""

    strength: float = 1.0
    floor: float = 0.0
    invert: bool = False
    ceiling: float | None = None
    exponent: float = 1.0

    def __post_init__(self):
        if not 0.0 <= self.strength <= 2.0 or not 0.0 <= self.floor <= 1.0:
            raise ValueError(f"expected strength in [0, 2] and floor in [0, 1], got {self.strength}, {self.floor}")
        if not 0.25 <= self.exponent <= 4.0:
            raise ValueError(f"expected exponent in [0.25, 4], got {self.exponent}")

    @classmethod
    def for_mode(cls, mode: str, **controls) -> MaskControls:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        return cls(ceiling=None if mode == "enhance" else 1.0, **controls)

    def apply(self, mask: torch.Tensor) -> torch.Tensor:
        if self.ceiling is not None:
            mask = mask.clamp(max=self.ceiling)
        if self.exponent != 1.0:
            mask = mask.clamp(min=0.0) ** self.exponent
        mask = (1.0 + self.strength * (mask - 1.0)).clamp(min=0.0).clamp(min=self.floor)
        return (1.0 - mask).clamp(min=0.0) if self.invert else mask


class WindowEnhancer:
    """``__call__(audio: Tensor[B, W]) -> (enhanced Tensor[B, W], mask Tensor[B, 512, 512])``."""

    window = WINDOW  # samples per call (the engines' window)

    def __init__(self, mask_fn: MaskFn, controls: MaskControls | None = None, fixed_mask: torch.Tensor | None = None):
        self.mask_fn, self.controls = mask_fn, controls or MaskControls()
        self.fixed_mask = fixed_mask  # Tensor[512, 512]: apply this (edited) mask instead of the model's
        self.spectrogram = Spectrogram(DEFAULT_CONFIG)

    @torch.no_grad()
    def mask(self, audio: torch.Tensor) -> torch.Tensor:
        """The controlled mask ``Tensor[B, 512, 512]`` for 16 kHz windows ``Tensor[B, W]``."""
        if self.fixed_mask is not None:
            mask = self.fixed_mask.expand(audio.shape[0], -1, -1)
        else:
            mask = self.mask_fn(self.spectrogram(audio)[:, None])[:, 0]
        return self.controls.apply(mask)

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stft = self.spectrogram.stft(audio)
        mask = self.mask(audio)
        return self.spectrogram.istft(stft.abs() * mask, stft.angle()), mask


def mirror_pad(x: torch.Tensor, length: int, before: bool) -> torch.Tensor:
    """``length`` samples that continue ``x`` (``Tensor[C, n]``, n >= 1) by mirror reflection, to go before
    its start (``before``) or after its end; longer than ``n`` by reflecting again and again.

    The engines pad windows with this instead of silence: the model was trained on windows full of sound,
    and half a window of digital silence at the edges of a signal made it leave the noise in."""
    forward = x if before else torch.flip(x, dims=[1])  # the samples in order of distance from the edge
    pieces, total, flipped = [], 0, False
    while total < length:
        pieces.append(torch.flip(forward, dims=[1]) if flipped else forward)
        total += forward.shape[1]
        flipped = not flipped
    away = torch.cat(pieces, dim=1)[:, :length]  # away[:, 0] touches the edge
    return torch.flip(away, dims=[1]) if before else away


class OverlapAdd:
    """Offline enhancement in constant memory: ``push(chunk) -> finished samples``, then ``flush()``.

    Output sample ``t`` corresponds to input sample ``t``; the total output length equals the input's.
    The signal is extended by half a window of mirror padding (:func:`mirror_pad`) at both ends, so every
    real sample is covered by two windows and no window contains digital silence that is not in the input.
    """

    def __init__(self, enhancer: WindowEnhancer, channels: int):
        self.enhancer, self.window = enhancer, enhancer.window
        self.hop = self.window // 2
        self.crossfade = torch.hann_window(self.window, periodic=True)
        self.pending = torch.zeros(channels, 0)  # input not yet fully used
        self.accumulated = torch.zeros(channels, self.hop)  # output of the previous window's second half
        self.started = False  # the leading padding is in place
        self.skip, self.received, self.emitted = self.hop, 0, 0
        self.last_mask: torch.Tensor | None = None  # the latest window's mask (Tensor[C, 512, 512])

    def push(self, chunk: torch.Tensor) -> torch.Tensor:
        """Feed ``Tensor[C, n]`` input; returns the output samples that are final (``Tensor[C, m]``)."""
        self.received += chunk.shape[1]
        return self._process(chunk, final=False)

    def flush(self) -> torch.Tensor:
        """End of input: pad by reflection until every received sample has been emitted."""
        if self.received == 0:
            return torch.zeros(self.pending.shape[0], 0)
        return self._process(None, final=True)

    def _process(self, chunk: torch.Tensor | None, final: bool) -> torch.Tensor:
        if chunk is not None:
            self.pending = torch.cat([self.pending, chunk], dim=1)
        if not self.started and (self.pending.shape[1] >= self.hop or final):
            head = mirror_pad(self.pending[:, : self.hop], self.hop, before=True)
            self.pending, self.started = torch.cat([head, self.pending], dim=1), True
        if final:
            tail = mirror_pad(self.pending[:, -self.hop:], self.window, before=False)
            self.pending = torch.cat([self.pending, tail], dim=1)
        out = []
        while self.started and self.pending.shape[1] >= self.window:
            enhanced, self.last_mask = self.enhancer(self.pending[:, :self.window])
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
    """Real-time enhancement: ``push(chunk) -> samples``, whole blocks at a time; ``flush()`` at the end.

    Output sample ``m`` is the enhanced input sample ``m - lookahead`` (the first ``lookahead`` output
    samples come from the padding before the input: the first block mirrored, :func:`mirror_pad`). A
    sample waits at most ``latency = block + lookahead`` samples (plus compute time) between arriving and
    leaving.
    """

    def __init__(self, enhancer: WindowEnhancer, channels: int, block: int = 2048, lookahead: int = 512):
        window = enhancer.window
        if not 0 < block <= window // 2 or not 0 <= lookahead <= window // 4:
            raise ValueError(f"expected 0 < block <= {window // 2} and 0 <= lookahead <= {window // 4} samples")
        self.enhancer, self.block, self.lookahead, self.window = enhancer, block, lookahead, window
        self.history: torch.Tensor | None = None  # the last window of samples, once the first block has arrived
        self.pending = torch.zeros(channels, 0)
        self.latency = block + lookahead
        self.last_mask: torch.Tensor | None = None  # the latest window's mask (Tensor[C, 512, 512])

    def push(self, chunk: torch.Tensor) -> torch.Tensor:
        self.pending = torch.cat([self.pending, chunk], dim=1)
        out = []
        while self.pending.shape[1] >= self.block:
            block, self.pending = self.pending[:, : self.block], self.pending[:, self.block:]
            if self.history is None:
                self.history = torch.cat([mirror_pad(block, self.window - self.block, before=True), block], dim=1)
            else:
                self.history = torch.cat([self.history[:, self.block:], block], dim=1)
            enhanced, self.last_mask = self.enhancer(self.history)
            end = self.window - self.lookahead
            out.append(enhanced[:, end - self.block: end])
        return torch.cat(out, dim=1) if out else torch.zeros(self.pending.shape[0], 0)

    def flush(self) -> torch.Tensor:
        """End of input: pad by reflection so that every received sample comes out (then some padding)."""
        received = self.pending if self.history is None else torch.cat([self.history, self.pending], dim=1)
        if received.shape[1] == 0:
            return received
        tail = mirror_pad(received[:, -self.window // 2:], self.lookahead + 2 * self.block, before=False)
        return self.push(tail)


def model_mask_fn(generator: torch.nn.Module, keep: str | None = None) -> MaskFn:
    """A mask generator in eval mode as a :data:`MaskFn` (on the generator's device; mask back on the CPU);
    ``keep``: the sound class to keep, for a model trained with classes (``None`` or ``"any"``: every sound;
    an :class:`~synth.errors.InputError` names the model's classes when it does not know ``keep``)."""
    generator.eval()
    device = next(generator.parameters()).device
    cue = generator.config.cue(keep)

    def mask_fn(spec: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            cues = torch.full((spec.shape[0],), cue, dtype=torch.long, device=device)
            return generator(spec.to(device), cues if cue else None).float().cpu()

    return mask_fn


def enhance_audio(generator: torch.nn.Module | MaskFn, audio: torch.Tensor, mode: str = "denoise",
                  controls: MaskControls | None = None, fixed_mask: torch.Tensor | None = None,
                  chunk: int = WINDOW, keep: str | None = None) -> torch.Tensor:
    """Offline enhancement of a whole signal: ``audio`` ``float32 Tensor[C, n]`` at 16 kHz -> ``Tensor[C, n]``.

    ``generator`` is a :class:`~specmask.generator.MaskGenerator` (or any :data:`MaskFn`); ``controls``
    default to the mode's (:meth:`MaskControls.for_mode`); ``keep``: the class to keep (:func:`model_mask_fn`,
    a generator only). Memory stays constant in ``n`` apart from the
    returned signal (the input is fed in ``chunk``-sample pieces).
    """
    if audio.ndim != 2:
        raise ValueError(f"expected audio of shape (channels, samples), got {tuple(audio.shape)}")
    controls = controls or MaskControls.for_mode(mode)
    mask_fn = model_mask_fn(generator, keep) if isinstance(generator, torch.nn.Module) else generator
    engine = OverlapAdd(WindowEnhancer(mask_fn, controls, fixed_mask), channels=audio.shape[0])
    pieces = [engine.push(piece) for piece in audio.float().split(chunk, dim=1)]
    return torch.cat([*pieces, engine.flush()], dim=1)
