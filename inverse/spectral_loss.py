"""Optional spectral loss: render the predicted parameters through the differentiable synth.

Parameter losses treat every parameter alike, although many barely change the sound in a given patch
(a filter envelope at zero depth, the level of a silent oscillator). The spectral loss compares what
the prediction *sounds* like with the target instead. It costs a render, a spectrogram and their
backward pass per row, so training applies it to the first ``spectral_rows`` rows of each batch.
"""

from __future__ import annotations

import torch

from synth.spectrogram import distance_db, normalized_to_db, spectrogram
from synth.voice import render


def rendered_distance(params: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Spectral distance in dB (:func:`synth.spectrogram.distance_db`) between ``render(params)`` and the target.

    params: ``Tensor[B, 100]`` normalised (differentiable, e.g. from ``ParamHead.to_params``); target: one
    normalised spectrogram ``Tensor[512, 512]`` for every row, or one per row ``Tensor[B, 512, 512]`` /
    ``Tensor[B, 1, 512, 512]``. Returns ``Tensor[B]``, differentiable when autograd is on.
    """
    rendered = spectrogram(render(params.float()))
    if target.dim() == 4:
        target = target[:, 0]
    return distance_db(normalized_to_db(rendered), normalized_to_db(target.float()))


def spectral_loss(params: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of :func:`rendered_distance` (dB): the training loss term (0-d tensor)."""
    return rendered_distance(params, target).mean()
