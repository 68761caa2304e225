"""Optional spectral loss: render the predicted parameters through the differentiable synth.

Parameter losses treat every parameter alike, although many barely change the sound in a given patch
(a filter envelope at zero depth, the level of a silent oscillator). The spectral loss compares what
the prediction *sounds* like with the target instead. It costs a render, a spectrogram and their
backward pass per row, so training applies it to the first ``spectral_rows`` rows of each batch.
"""

from __future__ import annotations

import torch

from synth.spectrogram import DEFAULT_CONFIG, spectrogram
from synth.voice import render


def spectral_loss(params: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute spectrogram difference in dB between ``render(params)`` and the target.

    params: ``Tensor[B, 100]`` normalised (differentiable, e.g. from ``ParamHead.to_params``); target:
    normalised spectrograms ``Tensor[B, 1, 512, 512]`` or ``Tensor[B, 512, 512]``. Returns a 0-d tensor in
    dB (the metric ``distance_db``, averaged over the batch).
    """
    rendered = spectrogram(render(params.float()))
    return (rendered - target.reshape(rendered.shape).float()).abs().mean() * DEFAULT_CONFIG.db_range
