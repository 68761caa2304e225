"""synth: a deterministic, differentiable 100-parameter synthesizer and the project's spectrogram."""

from synth.params import NUM_PARAMS, PARAM_NAMES, PARAM_SPECS, SYNTH_VERSION, ParamSpec
from synth.voice import Voice, render

__all__ = ["NUM_PARAMS", "PARAM_NAMES", "PARAM_SPECS", "SYNTH_VERSION", "ParamSpec", "Voice", "render"]
