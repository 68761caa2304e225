"""The synth's symmetries: parameter sets that must sound the same, or nearly so.

Three kinds (see the README's signal flow):

1. **Oscillator slots.** Oscillators 1-3 have the same controls and are summed, so permuting their
   settings leaves the sound unchanged, except where a slot is named elsewhere: ring modulation is
   oscillator 1 x oscillator 2 (a swap of 1 and 2 keeps it; moving oscillator 3 in changes it unless
   ``ring_level`` is 0) and each slot has its own fixed analog-drift table (nearly the same when
   ``analog_drift`` is small).
2. **Pitch bookkeeping.** An oscillator's pitch is ``note + 12 x octave + semitone``: an octave offset of
   +1 sounds like a semitone offset of +12, and the note moved down an octave with every oscillator moved up
   one keeps every oscillator's pitch (the sub oscillator and filter key-tracking follow the note, so that
   move is exact only when they are silent or flat).
3. **Inaudible parameters.** A silent oscillator's other controls, the FM ratio at FM index 0, pulse width
   away from the pulse shape, the settings of an effect whose mix is 0, an LFO that modulates nothing, the
   filter envelope at depth 0, the velocity depths at full velocity (or the velocity where both depths are 0), ...

:func:`slot_permutations` and :func:`symmetric_param_error` handle (1); :func:`equivalents` derives, from a
patch, the different patches that (1)-(3) say should sound like it; :func:`forms` lists every way (1) and (2)
together write it (``inverse.spread`` picks among them, with (3)'s parameters drawn anew) and :func:`is_form_of`
recognises one. :func:`inaudible` lists (3)'s parameters where a switch turns them off (what the search's variants
redraw); :func:`unheard` adds those the voice never reaches in a setting (what describes and writes the returned
candidates). Callers render them and keep those that still match (``inverse`` does), because "nearly" is decided by
ear, not here.
"""

from __future__ import annotations

import itertools
import math

import torch

from synth.params import NUM_PARAMS, PARAM_INDEX, PARAM_NAMES, PARAM_SPECS, to_physical

SLOT_NAMES = ("osc1", "osc2", "osc3")
#: Parameter indices of each oscillator slot, in the same order within every slot: ``(3, 10)``.
SLOTS = torch.tensor([[i for i, s in enumerate(PARAM_SPECS) if s.group == g] for g in SLOT_NAMES])
#: The 6 orders of the 3 slots; ``PERMUTATIONS[0]`` is the identity.
PERMUTATIONS = tuple(itertools.permutations(range(3)))
_SLOT_FIELDS = tuple(PARAM_SPECS[int(i)].name.split("_", 1)[1] for i in SLOTS[0])
_QUIET = 1e-4  # normalised level/depth/mix at or below which a control counts as off (0.01 is audible)
MOVES = (1, -1, 2, -2, 3, -3, 4, -4)  # octaves the note can move against offsets of -2..+2 (forms(every_move=True))
#: An envelope's attack counts as never finished when it is this much (relative) longer than the note's gate: far
#: above float32's rounding of the two times (~1e-7), so the voice's own comparison cannot come out the other way.
_GATE_MARGIN = 1e-4


def permute_slots(params: torch.Tensor, order: tuple[int, ...]) -> torch.Tensor:
    """``params`` ``Tensor[..., 100]`` with slot ``k`` taking the settings of slot ``order[k]``."""
    out = params.clone()
    for k, source in enumerate(order):
        out[..., SLOTS[k]] = params[..., SLOTS[source]]
    return out


def kept_orders(patch: torch.Tensor) -> tuple[tuple[int, ...], ...]:
    """The slot orders that keep the sound of ``patch`` ``Tensor[100]``, the identity first: all six without ring
    modulation, else the 1-2 swap only (ring modulation multiplies oscillators 1 and 2)."""
    return (PERMUTATIONS[0], (1, 0, 2)) if float(patch[PARAM_INDEX["ring_level"]]) > _QUIET else PERMUTATIONS


def slot_permutations(params: torch.Tensor) -> torch.Tensor:
    """All 6 slot orders of ``params`` ``Tensor[B, 100]``: ``Tensor[6, B, 100]`` (identity first)."""
    return torch.stack([permute_slots(params, order) for order in PERMUTATIONS])


def symmetric_param_error(predicted: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Mean |difference| of normalised parameters, minimised over the 6 slot orders of ``predicted``:
    ``Tensor[B]`` for ``Tensor[B, 100]`` inputs (0 for a slot-permuted copy of the truth)."""
    errors = (slot_permutations(predicted) - truth[None]).abs().mean(dim=2)  # (6, B)
    return errors.min(dim=0).values


def _index(name: str, x: torch.Tensor) -> torch.Tensor:
    """Discrete choice index of parameter ``name`` for normalised values ``x``."""
    choices = PARAM_SPECS[PARAM_INDEX[name]].choices
    return torch.clamp((x * choices).floor(), 0, choices - 1).long()


def _centre(name: str, index: torch.Tensor) -> torch.Tensor:
    return (index.float() + 0.5) / PARAM_SPECS[PARAM_INDEX[name]].choices


def _note_moved(patch: torch.Tensor, octaves: int, heard_only: bool = False) -> torch.Tensor | None:
    """The note moved by ``octaves`` and every oscillator's octave offset the other way, or None if out of
    range. The sub oscillator (which follows the note) moves its octave back (a silent sub may move with the note
    where it cannot), and the cutoff undoes the key-tracking's move. With ``heard_only`` a silent oscillator may
    move with the note too (its offset, unheard, stays). ``patch``: ``Tensor[100]``."""
    note = PARAM_INDEX["note_pitch"]
    spec = PARAM_SPECS[note]
    new_note = patch[note] + 12.0 * octaves / (spec.high - spec.low)
    if not 0.0 <= float(new_note) <= 1.0:
        return None
    out = patch.clone()
    out[note] = new_note
    values = None
    for name in [f"{slot}_octave" for slot in SLOT_NAMES] + ["sub_octave"]:
        choices = PARAM_SPECS[PARAM_INDEX[name]].choices
        octave = _index(name, patch[PARAM_INDEX[name]]) - octaves
        if not 0 <= int(octave) < choices:
            values = values or _values(patch)
            owner = name.removesuffix("_octave")
            silent = values["sub_level"] <= _QUIET if owner == "sub" else not _slot_heard(owner, values)
            if silent and (owner == "sub" or heard_only):
                continue  # a silent sub (or oscillator) may move with the note
            return None
        out[PARAM_INDEX[name]] = _centre(name, octave)
    cutoff = PARAM_SPECS[PARAM_INDEX["filter_cutoff"]]
    tracked = float(patch[PARAM_INDEX["filter_keytrack"]]) * octaves  # octaves the key-tracking moves the cutoff
    new_cutoff = patch[PARAM_INDEX["filter_cutoff"]] - tracked * math.log(2) / math.log(cutoff.high / cutoff.low)
    if not 0.0 <= float(new_cutoff) <= 1.0:
        return None
    out[PARAM_INDEX["filter_cutoff"]] = new_cutoff
    return out


def _octave_as_semitones(patch: torch.Tensor, slot: str) -> torch.Tensor | None:
    """Swap one octave of ``slot``'s octave offset for 12 semitones (or back), or None if neither fits."""
    octave_name, semitone_name = f"{slot}_octave", f"{slot}_semitone"
    octave = int(_index(octave_name, patch[PARAM_INDEX[octave_name]])) - 2
    semitone = int(_index(semitone_name, patch[PARAM_INDEX[semitone_name]])) - 12
    for d_octave in (1, -1):
        new_octave, new_semitone = octave - d_octave, semitone + 12 * d_octave
        if -2 <= new_octave <= 2 and -12 <= new_semitone <= 12:
            out = patch.clone()
            out[PARAM_INDEX[octave_name]] = _centre(octave_name, torch.tensor(new_octave + 2))
            out[PARAM_INDEX[semitone_name]] = _centre(semitone_name, torch.tensor(new_semitone + 12))
            return out
    return None


def inaudible(patch: torch.Tensor) -> list[int]:
    """Indices of the parameters of ``patch`` ``Tensor[100]`` that cannot be heard in its setting."""
    return _indices(_switched_off(_values(patch)))


def _values(patch: torch.Tensor) -> dict[str, float]:
    """``patch`` ``Tensor[100]`` by parameter name: one conversion, not 100 (~0.3 s per predict)."""
    return dict(zip(PARAM_NAMES, patch.tolist()))


def _indices(names: list[str]) -> list[int]:
    return sorted({PARAM_INDEX[name] for name in names})


def _switched_off(v: dict[str, float]) -> list[str]:
    """The names :func:`inaudible` lists, from normalised values by name."""
    hidden: list[str] = []
    for slot in SLOT_NAMES:
        if not _slot_heard(slot, v):
            hidden += [f"{slot}_{field}" for field in _SLOT_FIELDS if field != "level"]
            continue
        if v[f"{slot}_fm_index"] <= _QUIET:
            hidden.append(f"{slot}_fm_ratio")
        if v[f"{slot}_shape"] < 2 / 3:  # no pulse in the morph (0 sine .. 2/3 saw)
            hidden.append(f"{slot}_pulse_width")
    groups = {  # switch -> what it silences
        "noise_level": ("noise_color", "noise_decay", "noise_route"),
        "sub_level": ("sub_octave", "sub_shape"),
        "drive_mix": ("drive_gain", "drive_type", "drive_bias"),
        "chorus_mix": ("chorus_rate", "chorus_depth", "chorus_delay"),
        "delay_mix": ("delay_time", "delay_feedback", "delay_damping"),
        "reverb_mix": ("reverb_decay", "reverb_predelay", "reverb_early", "reverb_damping"),
        "lfo2_tremolo": (),
    }
    for switch, names in groups.items():
        if v[switch] <= _QUIET:
            hidden += list(names)
    if abs(v["pitch_env_amount"] - 0.5) <= _QUIET / 2:
        hidden.append("pitch_env_decay")
    if abs(v["filter_env_amount"] - 0.5) <= _QUIET / 2:  # the envelope moves the cutoff by nothing
        hidden += ["filter_env_attack", "filter_env_decay", "filter_env_sustain", "filter_env_release",
                   "filter_env_curve"]
    if v["note_velocity"] >= 1.0 - _QUIET:  # full velocity: the depths scale nothing
        hidden += ["amp_velocity", "filter_velocity"]
    elif v["amp_velocity"] <= _QUIET and v["filter_velocity"] <= _QUIET:
        hidden.append("note_velocity")
    lfo1_used = any(v[f"{s}_vibrato"] > _QUIET for s in SLOT_NAMES) or v["lfo1_pwm"] > _QUIET
    if not lfo1_used:
        hidden += ["lfo1_rate", "lfo1_shape", "lfo1_phase", "lfo1_fade"]
    if v["filter_lfo_amount"] <= _QUIET and v["lfo2_tremolo"] <= _QUIET:
        hidden += ["lfo2_rate", "lfo2_shape", "lfo2_phase", "lfo2_fade"]
    for band, names in (("eq_low_gain", ("eq_low_freq",)), ("eq_mid_gain", ("eq_mid_freq", "eq_mid_q")),
                        ("eq_high_gain", ("eq_high_freq",))):
        if abs(v[band] - 0.5) <= _QUIET / 2:
            hidden += list(names)
    return hidden


def unheard(patch: torch.Tensor) -> list[int]:
    """Indices of every parameter of ``patch`` ``Tensor[100]`` known not to change its sound: :func:`inaudible`'s, and
    what the voice never reaches in this setting: LFO 1's pulse-width depth where no heard oscillator has a pulse in
    its morph (and LFO 1 itself where nothing heard uses it: a silent slot's vibrato does not count), and an
    envelope's decay and sustain where the gate closes before its attack ends (``synth.control.adsr`` releases from
    the rising attack). Redrawn, these leave the audio the same bit for bit (``tests/synth/test_symmetry.py``).

    This list describes the returned candidates (:mod:`inverse.differences`: which parameters a candidate changes
    audibly, which candidates are one sound in two forms) and writes them (``inverse.spread``: the form of each sound
    farthest from the others). What draws variants for the search (``equivalents``, ``inverse.fill``, the
    retune) redraws :func:`inaudible`'s only: redrawing these there too was neutral on 130 held-out targets and moved
    every answer by chance, ``make demo``'s the wrong way (``benchmarks/results/inaudible_rules/``)."""
    v = _values(patch)
    hidden = _switched_off(v)
    heard = [slot for slot in SLOT_NAMES if _slot_heard(slot, v)]
    pulses = any(v[f"{slot}_shape"] >= 2 / 3 for slot in heard)  # a pulse width is heard somewhere
    if not pulses:
        hidden.append("lfo1_pwm")
    if not (any(v[f"{slot}_vibrato"] > _QUIET for slot in heard) or (pulses and v["lfo1_pwm"] > _QUIET)):
        hidden += ["lfo1_rate", "lfo1_shape", "lfo1_phase", "lfo1_fade"]
    gate = _physical("note_gate", v)
    for envelope in ("amp_env", "filter_env"):
        if _physical(f"{envelope}_attack", v) >= gate * (1.0 + _GATE_MARGIN):
            hidden += [f"{envelope}_decay", f"{envelope}_sustain"]
    return _indices(hidden)


def _slot_heard(slot: str, values: dict[str, float]) -> bool:
    """Whether oscillator ``slot`` reaches the mix in ``values`` (normalised, by name): its level, or oscillators 1
    and 2 through ring modulation."""
    return values[f"{slot}_level"] > _QUIET or (slot in ("osc1", "osc2") and values["ring_level"] > _QUIET)


def _physical(name: str, values: dict[str, float]) -> float:
    """The physical value (seconds, levels, ...) of parameter ``name`` in normalised ``values``."""
    return to_physical(PARAM_SPECS[PARAM_INDEX[name]], values[name])


# Controls whose value 0 (or, for the centred ones, 0.5) switches something off, silencing other controls.
_SWITCHES = tuple(f"{slot}_{name}" for slot in SLOT_NAMES for name in ("level", "fm_index", "vibrato")) + (
    "noise_level", "sub_level", "ring_level", "drive_mix", "chorus_mix", "delay_mix", "reverb_mix", "lfo1_pwm",
    "filter_lfo_amount", "lfo2_tremolo")
_CENTRED_SWITCHES = ("pitch_env_amount", "eq_low_gain", "eq_mid_gain", "eq_high_gain")


def simplified(patch: torch.Tensor, below: float = 0.05) -> torch.Tensor:
    """``patch`` with every nearly-off switch turned fully off (a level, depth or mix under ``below``
    normalised, a centred control within ``below / 2`` of its centre): a network's outputs are never exactly 0,
    so this is how its candidates get inaudible parameters to redraw. It may change the sound a little;
    callers render it and judge."""
    out = patch.clone()
    for name in _SWITCHES:
        if float(out[PARAM_INDEX[name]]) < below:
            out[PARAM_INDEX[name]] = 0.0
    for name in _CENTRED_SWITCHES:
        if abs(float(out[PARAM_INDEX[name]]) - 0.5) < below / 2:
            out[PARAM_INDEX[name]] = 0.5
    return out


def forms(patch: torch.Tensor, every_move: bool = False) -> torch.Tensor:
    """Every way (1) and (2) write the sound of ``patch`` ``Tensor[100]``: ``Tensor[M, 100]``, ``patch`` itself
    first, no two alike. The patch and its note moved an octave either way against the oscillators, each with
    one slot's octave offset written as semitones (or none), each in every slot order that keeps the sound
    (all six when ring modulation is off, else the 1-2 swap). With ``every_move`` the note moves by every number of
    octaves that the heard oscillators' offsets can take back (a silent one's offset stays): the forms that moves
    made one after another reach, which :func:`is_form_of` recognises; writing candidates (``inverse.spread``) keeps
    to one octave."""
    if patch.shape != (NUM_PARAMS,):
        raise ValueError(f"expected one patch of shape (100,), got {tuple(patch.shape)}")
    moves = MOVES if every_move else (1, -1)
    pitched = [patch] + [moved for octaves in moves
                         if (moved := _note_moved(patch, octaves, heard_only=every_move)) is not None]
    written = pitched + [moved for p in pitched for slot in SLOT_NAMES
                         if (moved := _octave_as_semitones(p, slot)) is not None]
    found = torch.stack([permute_slots(p, order) for p in written for order in kept_orders(patch)])
    repeated = (found[:, None] == found[None]).all(dim=2).tril(diagonal=-1).any(dim=1)  # equals an earlier row
    return found[~repeated]


def is_form_of(candidates: torch.Tensor, patch: torch.Tensor, tolerance: float = 1e-4) -> torch.Tensor:
    """Which rows of ``candidates`` ``Tensor[K, 100]`` write the sound of ``patch`` ``Tensor[100]`` in one of its
    :func:`forms` (another slot order, octave offsets as semitones, the note moved against the oscillators by as many
    octaves as their offsets allow), up to the parameters that form does not let you hear (:func:`unheard`, any value
    there) and ``tolerance`` in every other normalised parameter (a note moved and moved back may not round-trip
    exactly): ``Tensor[K]`` bool."""
    written = forms(patch, every_move=True)
    heard = torch.ones_like(written, dtype=torch.bool)
    for m, form in enumerate(written):
        heard[m, unheard(form)] = False
    gaps = (written[:, None] - candidates[None]).abs() * heard[:, None]  # (M, K, 100)
    return (gaps.amax(dim=2) <= tolerance).any(dim=0)


def equivalents(patch: torch.Tensor, generator: torch.Generator, redraws: int = 2) -> torch.Tensor:
    """Patches that the synth's symmetries say should sound like ``patch`` ``Tensor[100]``, all different
    from it: ``Tensor[M, 100]`` (M may be 0).

    Slot orders that keep the sound (every order when ring modulation is off, else the 1-2 swap), one octave
    offset written as 12 semitones, the note moved an octave against the oscillators' offsets, and ``redraws``
    copies of the :func:`simplified` patch with every inaudible parameter (:func:`inaudible`) drawn anew from
    ``generator`` (plus the simplified patch itself when it differs).
    """
    if patch.shape != (NUM_PARAMS,):
        raise ValueError(f"expected one patch of shape (100,), got {tuple(patch.shape)}")
    found: list[torch.Tensor] = []
    found += [permute_slots(patch, order) for order in kept_orders(patch)[1:]]
    for slot in SLOT_NAMES:
        moved = _octave_as_semitones(patch, slot)
        if moved is not None:
            found.append(moved)
    for octaves in (1, -1):
        moved = _note_moved(patch, octaves)
        if moved is not None:
            found.append(moved)
    simple = simplified(patch)
    hidden = inaudible(simple)
    if hidden and redraws:
        found.append(simple)
        for _ in range(redraws):
            redrawn = simple.clone()
            redrawn[hidden] = torch.rand(len(hidden), generator=generator)
            found.append(redrawn)
    if not found:
        return torch.zeros(0, NUM_PARAMS)
    stacked = torch.stack(found)
    different = (stacked - patch).abs().amax(dim=1) > 1e-6
    return stacked[different]
