"""Mask-model checkpoints: one file pair holding the shared backbone and BOTH heads.

A mask checkpoint is an inverse checkpoint (``inverse.checkpoint``: same format, versions and checks;
``inverse predict --model`` reads it and ignores the mask) plus:

- tensors ``mask.decoder.*`` (the mask decoder) and, when the backbone was fine-tuned for masking,
  ``mask.backbone.*`` (the fine-tuned copy; the regression head keeps reading the original ``backbone.*``);
- JSON ``mask_model_config`` (:class:`~specmask.config.MaskModelConfig`), ``mask_backbone``
  (``shared`` or ``finetuned``), ``mask_metrics``, ``mask_data`` and ``mask_training`` (configs of the run).

The discriminator is not part of it (it is only needed to train; the run folder keeps it for ``--resume``).
"""

from __future__ import annotations

import itertools
import shlex
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from inverse import checkpoint as inverse_checkpoint
from inverse.backbone import Backbone
from inverse.model import InverseModel
from specmask.config import MaskModelConfig
from specmask.generator import MaskGenerator
from synth.errors import InputError

PRETRAINED = Path(__file__).parent / "pretrained"
DEFAULT_MODEL = PRETRAINED / "default"
#: The shipped mask models by the names ``specmask enhance --model`` and ``inverse app --mask-model`` take in place of
#: a path: ``default`` for every kind of sound (synth, instruments, speech), ``speech`` its decoder fine-tuned on
#: speech alone (``pretrained/RECIPE_speech.md``).
SHIPPED = {"default": DEFAULT_MODEL, "speech": PRETRAINED / "speech"}
DECODER, FINETUNED_BACKBONE = "mask.decoder.", "mask.backbone."


def save(generator: MaskGenerator, inverse_model: InverseModel, path: str | Path, *, config: MaskModelConfig,
         finetuned: bool, inverse_info: dict, metrics: dict | None = None, data: dict | None = None,
         training: dict | None = None) -> Path:
    """Write the combined checkpoint: ``inverse_model`` (backbone + regression head, as loaded) and the
    generator's decoder (and its backbone when ``finetuned``). ``inverse_info`` is the inverse
    checkpoint's metadata; its data fingerprint and metrics are kept."""
    tensors = {DECODER + k: v for k, v in generator.decoder.state_dict().items()}
    if finetuned:
        tensors.update({FINETUNED_BACKBONE + k: v for k, v in generator.backbone.state_dict().items()})
    extra = {"mask_model_config": config.to_json(), "mask_backbone": "finetuned" if finetuned else "shared",
             "mask_metrics": metrics or {}, "mask_data": data or {}, "mask_training": training or {}}
    return inverse_checkpoint.save(inverse_model, path, data_fingerprint=inverse_info.get("data"),
                                   metrics=inverse_info.get("metrics"), extra=extra, extra_tensors=tensors)


def load(path: str | Path, device: str | torch.device = "cpu") -> tuple[MaskGenerator, dict]:
    """The mask generator of a combined checkpoint, in eval mode. An inverse-only checkpoint (no mask head)
    is a clear :class:`InputError`. Never unpickles anything."""
    info = inverse_checkpoint.read_metadata(path)
    if "mask_model_config" not in info:
        raise InputError(f"{path}: has no mask head (an inverse-only checkpoint); train one on its backbone with "
                         f"`{train_command(path)}`")
    weights, _ = inverse_checkpoint.paths(path)
    try:
        config = MaskModelConfig.from_json(info["mask_model_config"])
        tensors = load_file(str(weights), device="cpu")
        prefix = FINETUNED_BACKBONE if info.get("mask_backbone") == "finetuned" else "backbone."
        generator = MaskGenerator(Backbone(config.backbone), config.generator)
        generator.backbone.load_state_dict(_strip(tensors, prefix), strict=True)
        generator.decoder.load_state_dict(_strip(tensors, DECODER), strict=True)
    except (SafetensorError, KeyError, TypeError, ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
        raise InputError(f"{weights}: mask weights do not fit the mask model config ({first})") from None
    return generator.to(device).eval(), info


def resolve(model: str | Path) -> Path:
    """``model`` as a checkpoint path: a name of :data:`SHIPPED` is that shipped model unless a checkpoint of that
    name is where it points (a path wins), anything else is a path."""
    if str(model) in SHIPPED and not inverse_checkpoint.paths(model)[1].exists():
        return SHIPPED[str(model)]
    return Path(model)


def classes(path: str | Path) -> tuple[str, ...]:
    """The sound classes a mask checkpoint can be told to keep (``enhance --keep``), from its metadata only;
    ``()`` for a model without classes."""
    info = inverse_checkpoint.read_metadata(path)
    return tuple(info.get("mask_model_config", {}).get("generator", {}).get("classes", ()))


def train_command(backbone: str | Path) -> str:
    """A ``specmask train`` command line that trains a mask head on ``backbone`` (an inverse checkpoint) into
    a run directory that does not hold a run yet (``runs/mask``, else ``runs/mask-2``, ...), quoted for the shell."""
    names = (Path("runs") / ("mask" if n == 1 else f"mask-{n}") for n in itertools.count(1))
    out = next(d for d in names if not d.exists() or (d.is_dir() and not (d / "last.json").exists()))
    return f"specmask train --backbone {shlex.quote(str(backbone))} --out {shlex.quote(str(out))}"


def _strip(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
