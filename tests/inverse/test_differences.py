"""A candidate's differences from the best are the audible ones: slot order and inaudible settings do not count;
a candidate that writes an earlier one's sound in another form is named as such."""

import torch

from inverse.differences import aligned, form_sources, heard_changes
from synth.params import PARAM_INDEX
from synth.prior import draw
from synth.symmetry import forms, permute_slots


def test_a_slot_swapped_candidate_with_redrawn_inaudible_settings_differs_only_where_it_is_heard():
    best = draw(41, 0, 1, prior="2")[0]
    best[PARAM_INDEX["ring_level"]] = 0.0
    best[PARAM_INDEX["delay_mix"]] = 0.0  # delay settings cannot be heard
    other = permute_slots(best, (2, 0, 1))
    other[PARAM_INDEX["delay_time"]] = 1.0 - float(best[PARAM_INDEX["delay_time"]])
    other[PARAM_INDEX["filter_cutoff"]] = float(best[PARAM_INDEX["filter_cutoff"]]) + 0.02
    changed = (aligned(other, best) != best).nonzero()[:, 0].tolist()
    assert changed == sorted([PARAM_INDEX["delay_time"], PARAM_INDEX["filter_cutoff"]])  # slots back in order
    row, order = heard_changes(torch.stack([best, other]), 1)
    assert order == [PARAM_INDEX["filter_cutoff"]]
    assert abs(float(row[order[0]] - best[order[0]]) - 0.02) < 1e-6


def test_with_ring_modulation_oscillator_3_is_never_swapped_in():
    best = draw(42, 0, 1, prior="2")[0]
    best[PARAM_INDEX["ring_level"]] = 0.5
    other = permute_slots(best, (2, 1, 0))  # not a sound-keeping order with ring modulation
    assert not torch.equal(aligned(other, best), best)
    assert torch.equal(aligned(permute_slots(best, (1, 0, 2)), best), best)


def test_form_sources_names_the_earlier_candidate_a_form_writes():
    sounds = draw(43, 0, 3, prior="2")
    sounds[:, PARAM_INDEX["ring_level"]] = 0.0
    second_form = forms(sounds[1])[-1]  # another slot order (and offsets) of sound 1
    assert not torch.equal(second_form, sounds[1])
    params = torch.stack([sounds[0], sounds[1], sounds[2], second_form, permute_slots(sounds[0], (1, 2, 0))])
    assert form_sources(params) == [None, None, None, 1, 0]


def test_settings_the_voice_never_reaches_are_not_named_and_make_no_new_sound():
    """Two candidates that differ only in LFO 1's pulse-width depth where no heard slot has a pulse, and in the
    amplifier's decay where the note ends mid-attack (``synth.symmetry.unheard``): no heard change, one sound."""
    best = draw(44, 0, 1, prior="2")[0]
    best[PARAM_INDEX["ring_level"]] = 0.0
    for slot in ("osc1", "osc2", "osc3"):
        best[PARAM_INDEX[f"{slot}_shape"]] = 0.3  # no pulse in any morph
    best[PARAM_INDEX["note_gate"]] = 0.2
    best[PARAM_INDEX["amp_env_attack"]] = 0.9
    other = best.clone()
    other[PARAM_INDEX["lfo1_pwm"]] = 1.0 - float(best[PARAM_INDEX["lfo1_pwm"]])
    other[PARAM_INDEX["amp_env_decay"]] = 1.0 - float(best[PARAM_INDEX["amp_env_decay"]])
    _, order = heard_changes(torch.stack([best, other]), 1)
    assert order == []
    assert form_sources(torch.stack([best, other])) == [None, 0]
    other[PARAM_INDEX["osc2_shape"]] = 0.9  # now a pulse is heard, and its width's LFO depth with it
    _, order = heard_changes(torch.stack([best, other]), 1)
    assert PARAM_INDEX["lfo1_pwm"] in order and PARAM_INDEX["amp_env_decay"] not in order
