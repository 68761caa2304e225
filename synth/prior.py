"""The patch prior: where random patches come from (datasets, `python -m synth random`, baselines).

Row ``i`` depends only on ``(seed, i, sampler, prior)``, never on how many rows are drawn at once, so
datasets are the same whatever the batch size or shard split. Draws are made in the unit cube (plain
uniform from a counter-based generator, or a scrambled Sobol sequence) and then shaped by
:func:`shape_prior` so that most patches are audible rather than uniformly random knob settings.

Prior versions (recorded in every dataset and checkpoint; :data:`PRIOR_VERSIONS`):

- ``"1"``: :func:`shape_prior` alone. Each oscillator's octave and semitone offsets are uniform and
  independent, so most patches are clusters of three unrelated pitches with FM, ring modulation and noise.
- ``"2"`` (the default of ``python -m dataset_gen``): a mixture. With probability :data:`RANDOM_SHARE` a
  row is exactly the version-1 row; otherwise it is a *musical* patch (:func:`musical_patch`): one to
  three sounding oscillators at unison, octaves or fifths with small detunes, FM, ring modulation, noise,
  vibrato, drive and pitch bends mostly off: the single-pitched notes people bring to sound matching.
  The mixture's own random numbers come after the 100 unit-cube numbers in the row's stream, so a
  version-2 row of the random part equals the version-1 row of the same ``(seed, i)``.
"""

from __future__ import annotations

import numpy as np
import torch

from synth.params import NUM_PARAMS, PARAM_INDEX, PARAM_SPECS
from synth.symmetry import PERMUTATIONS, permute_slots

SAMPLERS = ("uniform", "sobol")
PRIOR_VERSIONS = ("1", "2")
LATEST_PRIOR = "2"
RANDOM_SHARE = 0.4  # prior 2: share of rows drawn as in prior 1
_EXTRA = 16  # prior 2: random numbers per row beyond the unit cube (mixture choices)


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


def _extras(seed: int, start: int, count: int) -> torch.Tensor:
    """The mixture's own numbers for rows ``start ..``: ``float64 (count, _EXTRA)``, after the row's first 100
    draws of the same counter-based stream (whatever the unit-cube sampler)."""
    rows = [np.random.Generator(np.random.Philox(key=[seed, start + j])).random(NUM_PARAMS + _EXTRA)[NUM_PARAMS:]
            for j in range(count)]
    return torch.from_numpy(np.stack(rows) if rows else np.zeros((0, _EXTRA)))


def _discrete(name: str, index: torch.Tensor) -> torch.Tensor:
    """Normalised value at the centre of choice ``index`` of a discrete parameter."""
    return (index.to(torch.float64) + 0.5) / PARAM_SPECS[PARAM_INDEX[name]].choices


# Prior 2's intervals of an oscillator against the note, as (octave, semitone) offsets and their weights.
# (1, 0) and (0, 12) sound the same: both stay, so the data shows the synth's symmetries.
_INTERVALS = ((0, 0), (1, 0), (-1, 0), (0, 7), (0, -5), (1, 7), (-2, 0), (2, 0), (0, 12), (0, -12))
_INTERVAL_WEIGHTS = (0.50, 0.12, 0.12, 0.08, 0.04, 0.04, 0.03, 0.03, 0.02, 0.02)
_SOUNDING_WEIGHTS = (0.40, 0.35, 0.25)  # one, two or three oscillators audible


def _pick(u: torch.Tensor, weights: tuple[float, ...]) -> torch.Tensor:
    """Index into ``weights`` chosen by uniform ``u`` (inverse CDF)."""
    edges = torch.tensor(weights, dtype=torch.float64).cumsum(0)
    return torch.searchsorted(edges[:-1].contiguous(), u.contiguous(), right=True)


def musical_patch(u: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
    """Prior 2's musical component: unit-cube rows ``(B, 100)`` and mixture numbers ``(B, _EXTRA)`` ->
    normalised patches ``(B, 100)`` (see the module docstring)."""
    x = shape_prior(u).to(torch.float64)
    sounding = _pick(extra[:, 0], _SOUNDING_WEIGHTS) + 1  # 1..3 oscillators with a level
    for slot in range(3):
        name = f"osc{slot + 1}"
        interval = _pick(extra[:, 1 + slot], _INTERVAL_WEIGHTS)
        octave = torch.tensor([o for o, _ in _INTERVALS])[interval]
        semitone = torch.tensor([s for _, s in _INTERVALS])[interval]
        if slot == 0:  # the first sounding oscillator plays the note itself (its slot is permuted below)
            octave, semitone = torch.zeros_like(octave), torch.zeros_like(semitone)
        x[:, PARAM_INDEX[f"{name}_octave"]] = _discrete(f"{name}_octave", octave + 2)
        x[:, PARAM_INDEX[f"{name}_semitone"]] = _discrete(f"{name}_semitone", semitone + 12)
        x[:, PARAM_INDEX[f"{name}_fine"]] = 0.5 + 0.2 * (u[:, PARAM_INDEX[f"{name}_fine"]] - 0.5)  # +-10 cents
        silent = slot >= sounding
        level = PARAM_INDEX[f"{name}_level"]
        x[:, level] = torch.where(silent, 0.0, 0.5 + 0.5 * u[:, level])
        fm_on = extra[:, 4 + slot] < 0.25
        index = PARAM_INDEX[f"{name}_fm_index"]
        x[:, index] = torch.where(fm_on, 0.5 * u[:, index], 0.0)
        vibrato = PARAM_INDEX[f"{name}_vibrato"]
        x[:, vibrato] = torch.where(extra[:, 7] < 0.3, 0.3 * u[:, vibrato], 0.0)  # shared: one player's vibrato
    off = {"noise_level": 0.6, "ring_level": 0.9, "sub_level": 0.6, "drive_mix": 0.6}
    for k, (name, probability) in enumerate(off.items()):
        column = PARAM_INDEX[name]
        x[:, column] = torch.where(extra[:, 8 + k] < probability, 0.0, x[:, column])
    bend = PARAM_INDEX["pitch_env_amount"]
    x[:, bend] = torch.where(extra[:, 12] < 0.8, 0.5, x[:, bend])
    # The oscillator at the note may sit in any slot: the slots are interchangeable, and the data says so.
    order = (extra[:, 13] * len(PERMUTATIONS)).long().clamp(max=len(PERMUTATIONS) - 1)
    for k, slot_order in enumerate(PERMUTATIONS[1:], start=1):
        x = torch.where((order == k)[:, None], permute_slots(x, slot_order), x)
    return x


def draw(seed: int, start: int, count: int, sampler: str = "uniform", prior: str = "1") -> torch.Tensor:
    """Rows ``start .. start + count - 1`` of prior version ``prior`` for ``seed``: normalised
    ``float32 (count, 100)``. The library default stays version 1 so that stored renders (golden audio,
    the shipped example patches) keep their meaning; datasets default to :data:`LATEST_PRIOR`."""
    if prior not in PRIOR_VERSIONS:
        raise ValueError(f"unknown prior version {prior!r}; expected one of {', '.join(PRIOR_VERSIONS)}")
    u = unit_cube(seed, start, count, sampler)
    x = shape_prior(u)
    if prior == "2" and count:
        extra = _extras(seed, start, count)
        musical = extra[:, -1] >= RANDOM_SHARE
        x = torch.where(musical[:, None], musical_patch(u, extra), x)
    return x.to(torch.float32)
