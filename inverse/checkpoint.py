"""Checkpoints: ``NAME.safetensors`` (weights, never pickled) + ``NAME.json`` (everything else).

The JSON holds the format version, the model config, ``SYNTH_VERSION``, the spectrogram config, the
parameter spec, the training-data fingerprint and metrics. Loading checks all of them against this
installation and refuses, with one clear line, a checkpoint that does not fit.

A checkpoint may also hold other heads on the same backbone (``specmask``'s mask decoder): their tensors
are named ``mask.*`` (:data:`OTHER_HEADS_PREFIX`), written with ``extra_tensors`` and skipped by :func:`load`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from inverse.config import ModelConfig
from inverse.model import InverseModel
from synth.errors import InputError
from synth.params import SYNTH_VERSION, spec_json
from synth.spectrogram import DEFAULT_CONFIG

FORMAT = "inverse-synth-checkpoint"
FORMAT_VERSION = 1
OTHER_HEADS_PREFIX = "mask."
DEFAULT_MODEL = Path(__file__).parent / "pretrained" / "default"  # the shipped model
DEFAULT_FLOW = Path(__file__).parent / "pretrained" / "flow"  # the shipped flow sampler for it (inverse.flow)


def param_spec_hash() -> str:
    """Short fingerprint of the parameter specification (names, ranges, choices)."""
    return hashlib.sha256(json.dumps(spec_json(), sort_keys=True).encode()).hexdigest()[:16]


def paths(path: str | Path) -> tuple[Path, Path]:
    """``runs/x/best`` or ``runs/x/best.safetensors`` or ``runs/x/best.json`` -> both file paths."""
    path = Path(path)
    if path.is_dir():
        path = path / "best"
    stem = path.with_suffix("") if path.suffix in (".safetensors", ".json") else path
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def training_seeds(data: dict) -> list[int]:
    """The prior seeds of every row a checkpoint's model learned from (its JSON's ``data``): its own training data's
    (``data["train"]["seed"]``) and, for a run started from trained weights (``inverse train-online --init``
    records ``data["init"]["model_data"]``), those its start had seen, newest first."""
    seeds = [data["train"]["seed"]] if "seed" in data.get("train", {}) else []
    start = (data.get("init") or {}).get("model_data")
    return seeds + (training_seeds(start) if start else [])


def module_tensors(module: torch.nn.Module, half: bool = False) -> dict[str, torch.Tensor]:
    """``module.state_dict()``, with the learned parameters stored as float16 when ``half`` (half the file; loading
    casts them back to float32). Buffers (constants, measured spreads) keep their dtype."""
    state = dict(module.state_dict())
    if half:
        learned = {name for name, _ in module.named_parameters()}
        state = {k: v.half() if k in learned and v.dtype == torch.float32 else v for k, v in state.items()}
    return state


def save(model: InverseModel, path: str | Path, *, data_fingerprint: dict | None = None,
         metrics: dict | None = None, extra: dict | None = None,
         extra_tensors: dict[str, torch.Tensor] | None = None, half: bool = False) -> Path:
    """Write ``path.safetensors`` and ``path.json`` (atomically: temporary names, then rename).

    ``extra_tensors`` (names starting with :data:`OTHER_HEADS_PREFIX`) are stored beside the model's; ``half``
    stores the learned weights as float16 (:func:`module_tensors`)."""
    tensors = module_tensors(model, half)
    for name, value in (extra_tensors or {}).items():
        if not name.startswith(OTHER_HEADS_PREFIX):
            raise ValueError(f"extra tensor names must start with {OTHER_HEADS_PREFIX!r}, got {name!r}")
        tensors[name] = value
    info = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "model_config": model.config.to_json(),
        "synth_version": SYNTH_VERSION, "spectrogram_config": DEFAULT_CONFIG.to_json(),
        "param_spec_sha256": param_spec_hash(), "data": data_fingerprint or {}, "metrics": metrics or {},
        **(extra or {}),
    }
    return write_pair(path, tensors, info)


def write_pair(path: str | Path, tensors: dict[str, torch.Tensor], info: dict) -> Path:
    """Write ``path.safetensors`` (``tensors``) and ``path.json`` (``info``, whose ``format`` also goes into the
    safetensors header) atomically: temporary names, then rename. Returns the weights path."""
    weights, meta = paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tmp_w, tmp_m = weights.with_suffix(".safetensors.tmp"), meta.with_suffix(".json.tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp_w),
              metadata={"format": info["format"]})
    tmp_m.write_text(json.dumps(info, indent=2))
    tmp_w.replace(weights)
    tmp_m.replace(meta)
    return weights


def read_json(path: str | Path, fmt: str, version: int, what: str) -> dict:
    """The JSON half of a ``NAME.safetensors`` + ``NAME.json`` pair of format ``fmt`` (a checkpoint, a flow, a
    retrieval index), checked against this installation: format version, ``SYNTH_VERSION``, the spectrogram
    config and the parameter specification. Anything else is an :class:`InputError` naming ``what`` it expected."""
    weights, meta = paths(path)
    if not meta.is_file() or not weights.is_file():
        raise InputError(f"{path}: expected a {what} ({weights.name} and {meta.name}), not found")
    try:
        info = json.loads(meta.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{meta}: not valid {what} JSON ({error.__class__.__name__})") from None
    if not isinstance(info, dict) or info.get("format") != fmt:
        raise InputError(f"{meta}: not an inverse-synth {what}")
    if info.get("format_version") != version:
        raise InputError(f"{meta}: {what} format {info.get('format_version')}, this version reads {version}")
    if info.get("synth_version") != SYNTH_VERSION:
        raise InputError(f"{meta}: made for synth version {info.get('synth_version')}, this synth is "
                         f"{SYNTH_VERSION}; make it again from data rendered by this version")
    if info.get("spectrogram_config") != DEFAULT_CONFIG.to_json():
        raise InputError(f"{meta}: made for another spectrogram configuration than this installation's")
    if info.get("param_spec_sha256") != param_spec_hash():
        raise InputError(f"{meta}: made for another parameter specification")
    return info


def read_metadata(path: str | Path) -> dict:
    """The checkpoint's JSON metadata, validated against this installation (InputError if it does not fit)."""
    return read_json(path, FORMAT, FORMAT_VERSION, "checkpoint")


def load(path: str | Path, device: str | torch.device = "cpu") -> tuple[InverseModel, dict]:
    """Load a checkpoint into a new ``InverseModel`` in eval mode. Never unpickles anything."""
    info = read_metadata(path)
    weights, _ = paths(path)
    try:
        config = ModelConfig.from_json(info["model_config"])
        model = InverseModel(config)
        state = load_file(str(weights), device="cpu")
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith(OTHER_HEADS_PREFIX)}, strict=True)
    except (SafetensorError, KeyError, TypeError, ValueError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
        raise InputError(f"{weights}: weights do not fit the model config ({first})") from None
    return model.to(device).eval(), info
