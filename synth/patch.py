"""Patch files: one parameter vector as JSON, with named values in physical units.

Format::

    {"synth_version": "1.0.0", "params": {"note_pitch": 60.0, "osc1_octave": -1, ...}}

Every one of the 100 parameters must be present. Continuous values are in the units of
``python -m synth params`` (Hz, seconds, dB, ...); discrete ones are their numeric value (e.g. an octave
of -1, or a ``filter_type`` index of 2). Normalised -> JSON -> normalised reproduces a canonical vector
(:func:`synth.params.canonicalize`) to within 1e-6.
"""

from __future__ import annotations

import json
import os

import torch
from torch import Tensor

from synth.errors import InputError
from synth.params import NUM_PARAMS, PARAM_INDEX, PARAM_NAMES, PARAM_SPECS, SYNTH_VERSION, from_physical, to_physical

_KEYS = ("synth_version", "params")


def patch_to_dict(normalized: Tensor) -> dict:
    """Normalised vector ``Tensor[100]`` in [0, 1] -> the patch as JSON-ready data (physical units)."""
    _check_vector(normalized)
    params: dict[str, float | int] = {}
    for spec, x in zip(PARAM_SPECS, normalized.detach().cpu().double().tolist(), strict=True):
        value = to_physical(spec, x)
        params[spec.name] = int(value) if spec.is_discrete and value == int(value) else value
    return {"synth_version": SYNTH_VERSION, "params": params}


def patch_from_dict(data: object, source: str = "patch") -> Tensor:
    """Patch data (as parsed from JSON) -> normalised ``float32 Tensor[100]``.

    Raises :class:`InputError` (one line, prefixed with ``source``) for another synth version, unknown or
    missing parameter names, values that are not finite numbers, and values outside a parameter's range
    or (discrete) not one of its allowed values.
    """
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a JSON object with keys {_KEYS}, got {type(data).__name__}")
    extra = sorted(set(data) - set(_KEYS))
    if extra or "params" not in data or "synth_version" not in data:
        answer = ("; this is `inverse predict`'s answer (its candidates.json): pass one of its patches, "
                  "rank01.patch.json ... beside it (written by --out)") if "candidates" in data else ""
        raise InputError(f"{source}: expected a JSON object with exactly the keys {', '.join(_KEYS)}, "
                         f"got {', '.join(sorted(map(str, data))) or 'no keys'}{answer}")
    version = data["synth_version"]
    if version != SYNTH_VERSION:
        raise InputError(f"{source}: patch was made for synth version {version}, this is {SYNTH_VERSION}")
    params = data["params"]
    if not isinstance(params, dict):
        raise InputError(f"{source}: expected \"params\" to be an object of name: value, got {type(params).__name__}")
    unknown = [name for name in params if name not in PARAM_INDEX]
    if unknown:
        raise InputError(f"{source}: unknown parameter names: {_listing(unknown)} "
                         f"(expected the names listed by `python -m synth params`)")
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise InputError(f"{source}: missing {len(missing)} of {NUM_PARAMS} parameters: {_listing(missing)}")
    normalized = []
    for spec in PARAM_SPECS:
        value = params[spec.name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            found = _shorten(json.dumps(value))
            raise InputError(f"{source}: {spec.name}: expected a number in {spec.unit}, got {found}")
        try:
            normalized.append(from_physical(spec, float(value)))
        except ValueError as e:
            raise InputError(f"{source}: {e}") from None
    return torch.tensor(normalized, dtype=torch.float32)


def save_patch(path: str | os.PathLike, normalized: Tensor) -> None:
    """Write normalised ``Tensor[100]`` as a patch JSON file. Unwritable paths raise ``OSError``."""
    text = json.dumps(patch_to_dict(normalized), indent=2)
    with open(os.fspath(path), "w", encoding="utf-8") as f:
        f.write(text + "\n")


def load_patch(path: str | os.PathLike) -> Tensor:
    """Read a patch JSON file -> normalised ``float32 Tensor[100]``; bad content is an :class:`InputError`."""
    name = os.fspath(path)
    with open(name, "rb") as f:
        raw = f.read()
    try:
        # Python's parser accepts the non-JSON NaN and Infinity; patch_from_dict rejects them with a clear message.
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{name}: expected a patch JSON file, could not parse it: {e}") from None
    return patch_from_dict(data, source=name)


def _check_vector(normalized: Tensor) -> None:
    if not isinstance(normalized, Tensor) or tuple(normalized.shape) != (NUM_PARAMS,):
        raise ValueError(f"expected a normalised parameter vector of shape ({NUM_PARAMS},), "
                         f"got {tuple(getattr(normalized, 'shape', ()))}")
    values = normalized.detach()
    if not bool(torch.isfinite(values).all()) or float(values.min()) < 0.0 or float(values.max()) > 1.0:
        raise ValueError("expected normalised parameter values in [0, 1]")


def _listing(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
