"""specmask training: a real GAN step, resumable runs, and combined checkpoints that both heads read."""

import csv
import json
import math

import pytest
import torch
from safetensors.torch import load_file

from inverse import checkpoint as inverse_checkpoint
from specmask import checkpoint
from specmask.perceptual import build_perceptual
from specmask.train import MaskTrainConfig, train
from synth.errors import InputError
from synth.prior import draw
from synth.spectrogram import spectrogram
from synth.voice import render
from tests.specmask.tiny import train_tiny

TERMS = ("adv/disc", "recon/spectral", "recon/waveform", "adv/gen", "perceptual", "mask/sparsity")


def test_one_gan_step_logs_every_loss_term_and_writes_a_run(mask_run):
    out, metrics = mask_run
    for term in TERMS:
        value = metrics[f"train/{term}"]
        signed = term in ("adv/gen", "recon/waveform")  # hinge / negative SI-SDR terms may be negative
        assert math.isfinite(value) and (signed or value >= 0), (term, value)
    assert metrics["step"] == 2 and math.isfinite(metrics["val/sisdr_improvement_db"])
    for name in ("best.json", "best.safetensors", "last.json", "discriminator.safetensors", "state.json",
                 "config.json", "log.csv"):
        assert (out / name).is_file(), name
    assert len(list(csv.DictReader((out / "log.csv").open()))) == 1


def test_training_moves_both_networks(mask_run, inverse_ckpt):
    out, _ = mask_run
    generator, _ = checkpoint.load(out / "last")
    # the decoder's last layer starts at zero (the identity mask); two steps must have moved it
    assert float(generator.decoder.subpixel[-1].weight.detach().abs().sum()) > 0
    disc = load_file(str(out / "discriminator.safetensors"))
    assert all(torch.isfinite(v).all() for v in disc.values())


def test_combined_checkpoint_serves_inverse_predict_unchanged(mask_run, inverse_ckpt):
    out, _ = mask_run
    original, _ = inverse_checkpoint.load(inverse_ckpt)
    combined, info = inverse_checkpoint.load(out / "best")  # mask tensors skipped
    spec = spectrogram(render(draw(5, 0, 1)))[:, None]
    with torch.no_grad():
        assert torch.equal(original(spec)[0], combined(spec)[0])
    assert info["mask_backbone"] == "shared" and "mask_model_config" in info
    generator, _ = checkpoint.load(out / "best")
    with torch.no_grad():
        mask = generator(spec)
    assert mask.shape == (1, 1, 512, 512) and 0 <= float(mask.min()) and float(mask.max()) <= 2.0


def test_inverse_only_checkpoint_is_refused_as_a_mask_model(inverse_ckpt):
    with pytest.raises(InputError, match="no mask head"):
        checkpoint.load(inverse_ckpt)


def test_finetuned_backbone_is_stored_beside_the_original(tmp_path, inverse_ckpt):
    # two steps: the first cannot reach the backbone (the decoder's last layer starts at zero)
    train_tiny(tmp_path / "ft", inverse_ckpt, finetune_backbone=True)
    tensors = load_file(str(tmp_path / "ft" / "best.safetensors"))
    original = load_file(str(inverse_ckpt) + ".safetensors")
    assert any(k.startswith("mask.backbone.") for k in tensors)
    assert all(torch.equal(tensors[k], v) for k, v in original.items())  # the regression head's backbone is intact
    generator, info = checkpoint.load(tmp_path / "ft" / "best")
    assert info["mask_backbone"] == "finetuned"
    changed = [not torch.equal(p, tensors[f"backbone.{k}"]) for k, p in generator.backbone.state_dict().items()]
    assert any(changed)


def test_resume_continues_the_same_run(tmp_path, inverse_ckpt):
    out = tmp_path / "run"
    train_tiny(out, inverse_ckpt, examples_per_epoch=2)
    with pytest.raises(InputError, match="already holds a run"):
        train_tiny(out, inverse_ckpt)
    metrics = train(out, config=MaskTrainConfig(epochs=2), device="cpu", resume=True, progress=False)
    assert metrics["epoch"] == 2 and metrics["step"] == 2
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert json.loads((out / "state.json").read_text())["epoch"] == 2


def test_vggish_perceptual_needs_user_weights():
    with pytest.raises(InputError, match="vggish-weights"):
        build_perceptual("vggish", None, None)
    with pytest.raises(InputError, match="unknown perceptual"):
        build_perceptual("mfcc", None, None)


@pytest.mark.parametrize("term", ["recon/spectral", "recon/waveform", "adv/gen", "perceptual", "mask/sparsity"])
def test_each_generator_loss_term_is_finite_and_reaches_the_generator(term):
    from inverse.backbone import Backbone
    from specmask.config import DiscriminatorConfig, GeneratorConfig, LossConfig
    from specmask.discriminator import PatchDiscriminator
    from specmask.generator import MaskGenerator
    from specmask.train import State, train_step
    from synth.spectrogram import Spectrogram
    from tests.specmask.tiny import TINY_BACKBONE

    torch.manual_seed(0)
    backbone = Backbone(TINY_BACKBONE).requires_grad_(False)
    generator = MaskGenerator(backbone, GeneratorConfig(decoder_width=8, subpixel_channels=8, mask_max=2.0,
                                                        identity_init=False))
    discriminator = PatchDiscriminator(DiscriminatorConfig(widths=(4, 8)))
    names = {"recon/spectral": "spectral", "recon/waveform": "waveform", "adv/gen": "adversarial",
             "perceptual": "perceptual", "mask/sparsity": "sparsity"}
    losses = LossConfig(**{field: float(field == names[term]) for field in names.values()})
    perceptual = build_perceptual("backbone", backbone, share=True)
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.0) for m in (generator.decoder, discriminator)]
    state = State(generator, discriminator, perceptual, *optimizers, Spectrogram(), losses,
                  MaskTrainConfig(adversarial_start=0), {"g": generator, "d": discriminator})
    clean = render(draw(3, 0, 2))
    mixture = clean + 0.05 * torch.randn_like(clean)
    report = train_step(state, mixture, clean, torch.zeros(2, dtype=torch.long), step=0)
    assert math.isfinite(report[term]) and report["skipped/gen"] == 0.0
    grad = generator.decoder.subpixel[-1].weight.grad
    assert grad is not None and torch.isfinite(grad).all() and float(grad.abs().sum()) > 0


def test_minutes_plans_the_run_from_its_first_epoch(tmp_path, inverse_ckpt):
    out = tmp_path / "budget"
    metrics = train_tiny(out, inverse_ckpt, epochs=3, examples_per_epoch=2, minutes=1e-6)  # one epoch fits
    plan = json.loads((out / "plan.json").read_text())
    assert plan["epochs"] == 1 and plan["seconds_per_epoch"] > 0 and metrics["epoch"] == 1
    assert len(list(csv.DictReader((out / "log.csv").open()))) == 1
    # a resumed budget run keeps its plan: nothing left to train
    train(out, config=MaskTrainConfig(epochs=3, minutes=1e-6), device="cpu", resume=True, progress=False)
    assert len(list(csv.DictReader((out / "log.csv").open()))) == 1
    roomy = train_tiny(tmp_path / "roomy", inverse_ckpt, epochs=2, examples_per_epoch=2, minutes=60.0)
    assert roomy["epoch"] == 2 and json.loads((tmp_path / "roomy" / "plan.json").read_text())["epochs"] == 2


def test_minutes_must_not_be_negative():
    with pytest.raises(InputError, match="minutes"):
        MaskTrainConfig(minutes=-1.0)
