"""The optional spectral loss: zero at the target's own parameters, gradients reach the head, training logs it."""

import csv

import torch

from inverse.head import ParamHead
from inverse.spectral_loss import spectral_loss
from inverse.train import TrainConfig, train
from synth.params import CONTINUOUS_INDICES, DISCRETE_INDICES
from synth.prior import draw
from synth.spectrogram import spectrogram
from synth.voice import render


def test_zero_at_the_target_and_positive_elsewhere():
    params = draw(seed=5, start=0, count=2)
    target = spectrogram(render(params))
    assert float(spectral_loss(params, target)) == 0.0
    assert float(spectral_loss(params.flip(0), target)) > 1.0  # another patch: dB apart


def test_gradient_reaches_continuous_outputs_only():
    torch.manual_seed(0)
    head = ParamHead(8)
    latent = torch.randn(2, 8)
    raw = head(latent).detach().requires_grad_(True)
    params = head.to_params(raw)
    target = spectrogram(render(draw(seed=6, start=0, count=2)))
    spectral_loss(params, target).backward()
    grad = raw.grad
    continuous = grad[:, :len(CONTINUOUS_INDICES)]
    assert torch.isfinite(grad).all() and continuous.abs().sum() > 0
    assert grad[:, len(CONTINUOUS_INDICES):].abs().sum() == 0, "discrete logits get their gradient from the CE"
    assert len(DISCRETE_INDICES) > 0


def test_training_with_the_spectral_term_logs_it(tiny, tmp_path):
    from dataset_gen.generate import GenerateOptions, generate

    data = tmp_path / "d.h5"
    generate(GenerateOptions(num_rows=4, out=data, seed=8, batch_size=4), progress=False)
    config = TrainConfig(epochs=1, batch_size=2, num_workers=0, scale_rows=2, val_fraction=0.5,
                         spectral_weight=0.01, spectral_rows=1)
    metrics = train(data, tmp_path / "run", model_config=tiny, config=config, device="cpu", progress=False)
    assert metrics["train/spectral_db"] > 0 and metrics["val/spectral_db"] > 0
    assert metrics["train/loss"] > metrics["train/l1"]
    row = next(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert float(row["val/spectral_db"]) > 0
