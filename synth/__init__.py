"""synth: a deterministic, differentiable 100-parameter synthesizer and the project's spectrogram.

The names below are imported on first use (PEP 562), so that ``synth.install_check`` and ``synth.errors``
load without torch: the command-line self-check must run before torch is imported.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"NUM_PARAMS": "synth.params", "PARAM_NAMES": "synth.params", "PARAM_SPECS": "synth.params",
            "SYNTH_VERSION": "synth.params", "ParamSpec": "synth.params", "Voice": "synth.voice",
            "render": "synth.voice"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'synth' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
