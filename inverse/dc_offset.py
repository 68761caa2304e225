"""A constant offset (DC) under an audio target, taken out before it is matched.

No patch makes one: the synth's high-pass (20 Hz at its lowest) keeps every render centred on zero. A recording
made through an interface with an offset, or a sample exported with one, keeps it for the whole file, and matched as
it is it decides part of the answer: a sox sawtooth note with an offset of 0.3 came back with its best candidate's
multi-scale distance to the clean note 0.394 instead of 0.285 (``benchmarks/results/dc_offset/`` has the measured
effect at several offsets).

:func:`remove_offset` subtracts the mean of the file's samples in the window (up to its last non-zero sample: the
zeros a short file is padded with are not the file's) where it is :data:`MIN_OFFSET` or more; smaller means are the
sound's own and are left alone, so a file without an offset is matched bit for bit as before.
"""

from __future__ import annotations

import torch

#: A window's mean at or above this (full scale; -40 dBFS) is an offset. The sound's own means stay far below it:
#: at most 0.0027 in the 80 clean external sounds of the benchmarks (sox and fluidsynth notes, GM drum hits, sox
#: one-shots, espeak-ng phrases) and 0.0048 in 200 held-out prior-2 patches (99 % of them below 0.0005).
MIN_OFFSET = 0.01


def remove_offset(audio: torch.Tensor) -> tuple[torch.Tensor, float | None]:
    """``audio`` ``Tensor[N]`` without its DC offset, and the offset (None, and ``audio`` itself, where its mean is
    below :data:`MIN_OFFSET`). The mean is taken up to the last non-zero sample and subtracted there; zero padding
    after it stays zero."""
    sounding = audio.nonzero()
    if not len(sounding):
        return audio, None
    end = int(sounding[-1]) + 1
    offset = float(audio[:end].double().mean())
    if abs(offset) < MIN_OFFSET:
        return audio, None
    out = audio.clone()
    out[:end] -= offset
    return out, offset
