"""The patch prior: where random patches come from (datasets, `python -m synth random`, baselines).

Row ``i`` depends only on ``(seed, i, sampler)``, never on how many rows are drawn at once, so datasets
are the same whatever the batch size or shard split. Draws are made in the unit cube (plain uniform
from a counter-based generator, or a scrambled Sobol sequence) and then shaped by :func:`shape_prior`
so that most patches are audible and musically plausible rather than uniformly random knob settings.
"""

from __future__ import annotations

import numpy as np
import torch

from synth.params import NUM_PARAMS, PARAM_INDEX

SAMPLERS = ("uniform", "sobol")


def unit_cube(seed: int, start: int, count: int, sampler: str = "uniform") -> torch.Tensor:
    """Rows ``start .. start + count - 1`` of the unit-cube design. Returns ``float64 (count, 100)``."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")
    if seed < 0 or start < 0 or count < 0:
        raise ValueError("seed, start and count must be non-negative")
    if sampler == "uniform":
        rows = [np.random.Generator(np.random.Philox(key=[seed, start + j])).random(NUM_PARAMS)
                for j in range(count)]
        return torch.from_numpy(np.stack(rows) if rows else np.zeros((0, NUM_PARAMS)))
    engine = torch.quasirandom.SobolEngine(NUM_PARAMS, scramble=True, seed=seed)
    if start:
        engine.fast_forward(start)
    return engine.draw(count, dtype=torch.float64)


# Parameters whose prior is skewed towards 0 (u ** power): effects and modulation are usually subtle.
_SKEW_LOW = {
    "ring_level": 3.0, "noise_level": 2.0, "sub_level": 2.0,
    "drive_mix": 2.0, "chorus_mix": 2.0, "delay_mix": 2.5, "reverb_mix": 2.0,
    "filter_lfo_amount": 2.0, "lfo2_tremolo": 2.5, "lfo1_pwm": 2.0, "analog_drift": 2.0,
    "osc1_fm_index": 2.0, "osc2_fm_index": 2.0, "osc3_fm_index": 2.0,
    "osc1_vibrato": 3.0, "osc2_vibrato": 3.0, "osc3_vibrato": 3.0,
    "amp_env_attack": 2.0, "filter_env_attack": 1.5, "delay_feedback": 1.5, "hpf_cutoff": 2.5,
    "hpf_resonance": 2.0, "noise_decay": 0.7,
}
# Parameters squeezed into [low, high] of their normalised range.
_RANGE = {
    "note_pitch": (0.15, 0.85),       # MIDI 35..85
    "output_gain": (0.5, 1.0),        # -12..0 dB
    "filter_cutoff": (0.35, 1.0),     # ~270 Hz and up: most patches are not muffled
    "filter_env_amount": (0.35, 1.0),  # mostly opening the filter
    "amp_env_sustain": (0.3, 1.0),
    "note_gate": (0.45, 1.0),          # ~0.5 s and longer
}


def shape_prior(u: torch.Tensor) -> torch.Tensor:
    """Unit-cube draws ``(B, 100)`` -> normalised patches ``(B, 100)`` from the shipped prior.

    Row-wise and deterministic. Keeps every value in [0, 1]; skews effect and modulation depths
    towards zero, keeps the pitch envelope near its centre (no bend) most of the time, narrows a few
    ranges (`_RANGE`) so that most patches are audible and not muffled, and makes the loudest
    oscillator at least half level.
    """
    x = u.clone()
    for name, power in _SKEW_LOW.items():
        x[:, PARAM_INDEX[name]] = torch.exp(power * torch.log(u[:, PARAM_INDEX[name]]))  # u ** power
    # Pitch envelope: symmetric around 0 semitones, mostly small.
    p = PARAM_INDEX["pitch_env_amount"]
    centred = 2 * (u[:, p] - 0.5)
    x[:, p] = 0.5 + 0.5 * centred * centred * centred
    for name, (low, high) in _RANGE.items():
        x[:, PARAM_INDEX[name]] = low + (high - low) * u[:, PARAM_INDEX[name]]
    levels = [PARAM_INDEX[f"osc{i}_level"] for i in (1, 2, 3)]
    loudest = x[:, levels].amax(dim=1, keepdim=True).clamp_min(1e-9)
    x[:, levels] = x[:, levels] * (torch.clamp(loudest, min=0.5) / loudest)
    return x.clamp(0.0, 1.0)


def draw(seed: int, start: int, count: int, sampler: str = "uniform") -> torch.Tensor:
    """Rows ``start .. start + count - 1`` of the prior for ``seed``: normalised ``float32 (count, 100)``."""
    return shape_prior(unit_cube(seed, start, count, sampler)).to(torch.float32)
