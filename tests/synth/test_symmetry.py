"""The synth's symmetries: slot permutations, octave bookkeeping and inaudible parameters give patches that
render (near) identically; the symmetry-aware parameter error sees through slot order."""

import torch

from synth import render
from synth.params import PARAM_INDEX
from synth.perceptual import match_distance
from synth.prior import draw
from synth.symmetry import (
    PERMUTATIONS,
    equivalents,
    forms,
    inaudible,
    is_form_of,
    permute_slots,
    simplified,
    slot_permutations,
    symmetric_param_error,
    unheard,
)


def quiet_patches(count: int) -> torch.Tensor:
    """Musical prior patches without analog drift (each slot has its own drift table)."""
    params = draw(21, 0, count, prior="2")
    params[:, PARAM_INDEX["analog_drift"]] = 0.0
    return params


def test_slot_permutations_render_identically_without_ring_modulation():
    params = quiet_patches(2)
    params[:, PARAM_INDEX["ring_level"]] = 0.0
    audio = render(params)
    for order in PERMUTATIONS[1:]:
        assert torch.allclose(render(permute_slots(params, order)), audio, atol=1e-5)


def test_symmetric_param_error_ignores_slot_order_only():
    params = draw(2, 0, 4, prior="2")
    for permuted in slot_permutations(params):
        assert torch.allclose(symmetric_param_error(permuted, params), torch.zeros(4))
    other = draw(3, 0, 4, prior="2")
    plain = (other - params).abs().mean(dim=1)
    assert bool((symmetric_param_error(other, params) <= plain + 1e-7).all())
    assert bool((symmetric_param_error(other, params) > 0.01).all())


def test_expanded_candidates_render_near_identically_to_their_source():
    """Slot orders, octave offsets as semitones and note moves (no redraws): near identical renders."""
    params = quiet_patches(6)
    generator = torch.Generator().manual_seed(0)
    for patch in params:
        found = equivalents(patch, generator, redraws=0)
        assert found.shape[0] >= 2
        assert bool(((found - patch).abs().amax(dim=1) > 1e-6).all())
        distances = match_distance(render(found), render(patch[None]))
        assert float(distances.max()) < 0.02, distances


def test_redrawn_inaudible_parameters_render_near_identically():
    """A patch whose switches are clearly on or exactly off: redrawing what they silence changes nothing."""
    patch = quiet_patches(1)[0]
    for name in ("osc3_level", "noise_level", "delay_mix", "chorus_mix", "osc1_fm_index", "osc2_fm_index",
                 "lfo1_pwm", "osc1_vibrato", "osc2_vibrato", "osc3_vibrato", "ring_level", "sub_level"):
        patch[PARAM_INDEX[name]] = 0.0
    patch[PARAM_INDEX["osc1_level"]] = patch[PARAM_INDEX["osc2_level"]] = 0.8
    patch[PARAM_INDEX["filter_env_amount"]] = 0.5  # no filter envelope
    patch[PARAM_INDEX["note_velocity"]] = 1.0  # full velocity: its depths scale nothing
    found = equivalents(patch, torch.Generator().manual_seed(1), redraws=3)
    redrawn = found[-3:]
    assert float((redrawn - patch).abs().mean(dim=1).min()) > 0.05  # different parameter sets ...
    assert float(match_distance(render(redrawn), render(patch[None])).max()) < 0.02  # ... one sound


def test_simplified_turns_nearly_off_switches_off():
    patch = torch.full((100,), 0.5)
    patch[PARAM_INDEX["osc3_level"]] = 0.03
    patch[PARAM_INDEX["delay_mix"]] = 0.2
    patch[PARAM_INDEX["eq_mid_gain"]] = 0.51
    out = simplified(patch)
    assert float(out[PARAM_INDEX["osc3_level"]]) == 0.0
    assert torch.equal(out[PARAM_INDEX["delay_mix"]], patch[PARAM_INDEX["delay_mix"]])
    assert float(out[PARAM_INDEX["eq_mid_gain"]]) == 0.5


def test_inaudible_lists_the_controls_a_switch_silences():
    patch = draw(4, 0, 1, prior="1")[0]
    patch[PARAM_INDEX["delay_mix"]] = 0.0
    patch[PARAM_INDEX["osc3_level"]] = 0.0
    patch[PARAM_INDEX["osc1_fm_index"]] = 0.0
    hidden = inaudible(patch)
    for name in ("delay_time", "delay_feedback", "osc3_shape", "osc3_fm_ratio", "osc1_fm_ratio"):
        assert PARAM_INDEX[name] in hidden
    assert PARAM_INDEX["osc3_level"] not in hidden and PARAM_INDEX["delay_mix"] not in hidden
    patch[PARAM_INDEX["filter_env_amount"]] = 0.5
    patch[PARAM_INDEX["note_velocity"]] = 1.0
    hidden = inaudible(patch)
    for name in ("filter_env_decay", "filter_env_curve", "amp_velocity", "filter_velocity"):
        assert PARAM_INDEX[name] in hidden
    assert PARAM_INDEX["note_velocity"] not in hidden
    patch[PARAM_INDEX["note_velocity"]] = 0.3
    patch[PARAM_INDEX["amp_velocity"]] = patch[PARAM_INDEX["filter_velocity"]] = 0.0
    hidden = inaudible(patch)
    assert PARAM_INDEX["note_velocity"] in hidden and PARAM_INDEX["amp_velocity"] not in hidden


def test_is_form_of_recognises_every_form_with_inaudible_settings_redrawn_and_nothing_else():
    params = quiet_patches(4)
    generator = torch.Generator().manual_seed(1)
    for k, patch in enumerate(params):
        written = forms(patch)
        assert written.shape[0] >= 2
        redrawn = written.clone()
        for form in redrawn:
            hidden = inaudible(form)
            form[hidden] = torch.rand(len(hidden), generator=generator)
        heard = [i for i in range(patch.numel()) if i not in set(inaudible(patch))]
        nudged = patch.clone()
        nudged[heard[0]] = (nudged[heard[0]] + 0.01) % 1.0  # one heard setting changed a little
        others = params[[i for i in range(params.shape[0]) if i != k]]
        found = is_form_of(torch.cat([redrawn, nudged[None], others]), patch)
        assert found.tolist() == [True] * written.shape[0] + [False] * (1 + others.shape[0])


def test_a_note_two_octaves_down_past_a_silent_oscillator_is_the_same_sound_and_a_form_of_it():
    """A form that one-octave moves reach only one after another, where a silent oscillator's offset is already at
    the top: the returned candidates hold such pairs, and the table must not show them as two sounds."""
    patch = quiet_patches(1)[0]
    octave = lambda index: (index + 0.5) / 5  # noqa: E731 - offsets -2..+2, five choices
    for name, value in (("ring_level", 0.0), ("sub_level", 0.0), ("osc3_level", 0.0), ("osc3_octave", octave(4)),
                        ("osc1_octave", octave(1)), ("osc2_octave", octave(2)), ("osc1_level", 0.7),
                        ("osc2_level", 0.5), ("note_pitch", 0.6)):
        patch[PARAM_INDEX[name]] = value
    # the note two octaves down, the heard oscillators two up; the silent one stays at +2
    expected = patch.clone()
    expected[PARAM_INDEX["note_pitch"]] -= 24 / 72
    expected[PARAM_INDEX["osc1_octave"]], expected[PARAM_INDEX["osc2_octave"]] = octave(3), octave(4)
    found = forms(patch, every_move=True)
    close = ((found - expected).abs() * (torch.arange(100) != PARAM_INDEX["filter_cutoff"])).amax(dim=1) < 1e-6
    assert int(close.sum()) == 1  # (its cutoff moved back by the key-tracking's two octaves)
    moved = found[close][0]
    assert float(match_distance(render(moved[None]), render(patch[None]))) < 0.02
    assert is_form_of(moved[None], patch).item() and is_form_of(patch[None], moved).item()
    assert not (forms(patch) - moved).abs().amax(dim=1).lt(1e-6).any()  # writing candidates: one octave either way


def unreached_patch() -> torch.Tensor:
    """A patch whose LFO 1 moves only a pulse width no heard slot plays, and whose note ends mid-attack."""
    patch = quiet_patches(1)[0]
    for name in ("osc1_vibrato", "osc2_vibrato", "osc3_vibrato", "ring_level"):
        patch[PARAM_INDEX[name]] = 0.0
    for slot in ("osc1", "osc2", "osc3"):
        patch[PARAM_INDEX[f"{slot}_level"]] = 0.7
        patch[PARAM_INDEX[f"{slot}_shape"]] = 0.4  # between sine and saw: no pulse
    patch[PARAM_INDEX["lfo1_pwm"]] = 0.8
    patch[PARAM_INDEX["note_gate"]] = 0.3  # 0.18 s
    patch[PARAM_INDEX["amp_env_attack"]] = patch[PARAM_INDEX["filter_env_attack"]] = 0.8  # 0.76 s
    patch[PARAM_INDEX["filter_env_amount"]] = 0.9
    return patch


UNREACHED = ("lfo1_pwm", "lfo1_rate", "lfo1_shape", "lfo1_phase", "lfo1_fade", "amp_env_decay", "amp_env_sustain",
             "filter_env_decay", "filter_env_sustain")


def test_unheard_adds_what_the_voice_never_reaches_and_only_that():
    """LFO 1's pulse-width depth without a heard pulse (and LFO 1 itself, with no vibrato), and an envelope's decay
    and sustain when the gate closes mid-attack: redrawn, the audio is the same bit for bit; one step the other way
    (a pulse in a morph, a gate past the attack), listed no more and heard. Everything inaudible() lists stays."""
    patch = unreached_patch()
    index = [PARAM_INDEX[name] for name in UNREACHED]
    assert set(index) <= set(unheard(patch))
    assert not set(index) <= set(inaudible(patch))  # what draws variants does not redraw these
    for p in draw(22, 0, 20, prior="2"):
        assert set(inaudible(p)) <= set(unheard(p))
    redrawn = patch.repeat(3, 1)
    redrawn[:, index] = torch.rand(3, len(index), generator=torch.Generator().manual_seed(2))
    assert torch.equal(render(redrawn), render(patch[None]).expand(3, -1))
    heard = patch.clone()
    heard[PARAM_INDEX["osc2_shape"]] = 0.9  # a pulse in the morph: its width, and LFO 1 moving it, are heard
    heard[PARAM_INDEX["note_gate"]] = 0.9  # 2.4 s: the attack ends while the key is held
    assert not set(index) & set(unheard(heard))
    changed = heard.clone()
    changed[index] = redrawn[0, index]
    assert float(match_distance(render(heard[None]), render(changed[None]))) > 0


def test_a_silent_slots_vibrato_does_not_make_lfo1_heard():
    patch = unreached_patch()
    patch[PARAM_INDEX["osc3_level"]] = 0.0
    patch[PARAM_INDEX["osc3_vibrato"]] = 0.9
    assert PARAM_INDEX["lfo1_rate"] in unheard(patch)
    patch[PARAM_INDEX["osc3_level"]] = 0.7
    assert PARAM_INDEX["lfo1_rate"] not in unheard(patch)
