"""Resampling a stream piece by piece, with the same samples as resampling the whole signal at once.

``torchaudio.functional.resample`` of a whole signal is a polyphase filter: output ``k`` depends on the
input within ``width`` samples of ``k * orig / new``. :class:`StreamResampler` keeps that much context,
resamples segments that start on a multiple of the polyphase period (``orig / gcd`` input samples, so
every segment uses the same filter phases) and emits only the outputs whose whole support it has seen.
Its output equals the whole-signal result to float rounding; it lags the input by about ``width`` samples.
"""

from __future__ import annotations

import math

import torch
import torchaudio.functional as AF

_ZERO_CROSSINGS = 6  # torchaudio's default lowpass_filter_width
_ROLLOFF = 0.99  # torchaudio's default rolloff


class StreamResampler:
    """``push(chunk: Tensor[C, n]) -> Tensor[C, m]`` at the new rate; ``flush()`` ends the stream.

    Over a whole stream the output has ``ceil(n_total * new / orig)`` samples, as torchaudio's has.
    With ``orig == new`` it passes samples through.
    """

    def __init__(self, orig: int, new: int, channels: int):
        self.orig, self.new = orig, new
        g = math.gcd(orig, new)
        self.period_in, self.period_out = orig // g, new // g
        width = math.ceil(_ZERO_CROSSINGS * orig / (min(orig, new) * _ROLLOFF))  # input samples each side
        self.context = math.ceil((width + 1) / self.period_in) * self.period_in
        self.buffer = torch.zeros(channels, self.context)  # the zeros torchaudio pads before the start
        self.received, self.emitted = 0, 0

    def push(self, chunk: torch.Tensor) -> torch.Tensor:
        if self.orig == self.new:
            return chunk
        self.received += chunk.shape[1]
        self.buffer = torch.cat([self.buffer, chunk], dim=1)
        usable = (self.buffer.shape[1] // self.period_in) * self.period_in
        if usable < 2 * self.context + self.period_in:
            return self.buffer.new_zeros(self.buffer.shape[0], 0)
        out = AF.resample(self.buffer[:, :usable], self.orig, self.new)
        ratio = self.period_out / self.period_in
        first, last = int(self.context * ratio), int((usable - self.context) * ratio)
        self.buffer = self.buffer[:, usable - 2 * self.context:]
        self.emitted += last - first
        return out[:, first:last]

    def flush(self) -> torch.Tensor:
        if self.orig == self.new:
            return torch.zeros(self.buffer.shape[0], 0)
        total = math.ceil(self.received * self.new / self.orig)
        pad = 2 * self.context + self.period_in - self.buffer.shape[1] % self.period_in
        out = self.push(torch.zeros(self.buffer.shape[0], pad))
        self.received -= pad
        return out[:, : max(0, total - self.emitted + out.shape[1])]
