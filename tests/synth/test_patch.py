"""Patch JSON files: round trip through physical units, and one clear error per kind of bad patch."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from synth.errors import InputError
from synth.params import NUM_PARAMS, PARAM_INDEX, PARAM_NAMES, PARAM_SPECS, SYNTH_VERSION, canonicalize
from synth.patch import load_patch, patch_from_dict, patch_to_dict, save_patch
from synth.prior import draw


def test_prior_patches_round_trip_through_a_file(tmp_path):
    patches = canonicalize(draw(7, 0, 8))
    for row in patches:
        save_patch(tmp_path / "p.json", row)
        back = load_patch(tmp_path / "p.json")
        assert back.dtype == torch.float32 and back.shape == (NUM_PARAMS,)
        assert (back - row).abs().max().item() < 1e-6


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=NUM_PARAMS, max_size=NUM_PARAMS))
def test_any_canonical_vector_round_trips(values):
    vector = canonicalize(torch.tensor([values], dtype=torch.float32))[0]
    data = json.loads(json.dumps(patch_to_dict(vector)))
    assert (patch_from_dict(data) - vector).abs().max().item() < 1e-6


def test_file_layout_uses_physical_units():
    vector = canonicalize(torch.full((1, NUM_PARAMS), 0.5))[0]
    data = patch_to_dict(vector)
    assert data["synth_version"] == SYNTH_VERSION
    assert list(data["params"]) == list(PARAM_NAMES)
    assert data["params"]["osc1_octave"] == 0 and isinstance(data["params"]["osc1_octave"], int)
    assert data["params"]["note_pitch"] == pytest.approx(60.0)
    assert data["params"]["filter_cutoff"] == pytest.approx(30 * (16000 / 30) ** 0.5)


def valid() -> dict:
    return patch_to_dict(canonicalize(draw(1, 0, 1))[0])


def test_unknown_names_are_listed():
    data = valid()
    data["params"]["osc4_level"] = 0.5
    data["params"]["wobble"] = 1.0
    with pytest.raises(InputError, match="unknown parameter names: osc4_level, wobble.*expected"):
        patch_from_dict(data)


def test_missing_names_are_counted():
    data = valid()
    for name in PARAM_NAMES[:6]:
        del data["params"][name]
    with pytest.raises(InputError, match=r"missing 6 of 100 parameters: note_pitch, .*\(6 in all\)"):
        patch_from_dict(data)


def test_out_of_range_value_names_the_range():
    data = valid()
    data["params"]["filter_cutoff"] = 20000.0
    with pytest.raises(InputError, match=r"filter_cutoff: 20000 Hz is outside \[30, 16000\]"):
        patch_from_dict(data)


def test_discrete_value_must_be_allowed():
    data = valid()
    data["params"]["osc1_octave"] = 0.5
    with pytest.raises(InputError, match="osc1_octave.*allowed values"):
        patch_from_dict(data)


@pytest.mark.parametrize("value", ["loud", None, True, [1.0]])
def test_non_numbers_are_input_errors(value):
    data = valid()
    data["params"]["osc1_level"] = value
    with pytest.raises(InputError, match="osc1_level: expected a number"):
        patch_from_dict(data)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_values_in_a_file(tmp_path, token):
    data = valid()
    data["params"]["note_velocity"] = 12345.0  # a marker to replace with a non-JSON token
    text = json.dumps(data).replace("12345.0", token)
    assert token in text
    (tmp_path / "p.json").write_text(text)
    with pytest.raises(InputError, match="note_velocity.*not a finite number"):
        load_patch(tmp_path / "p.json")


def test_other_synth_version():
    data = valid()
    data["synth_version"] = "0.9.0"
    with pytest.raises(InputError, match=f"patch was made for synth version 0.9.0, this is {SYNTH_VERSION}"):
        patch_from_dict(data)


def test_not_json_and_wrong_shape(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="expected a patch JSON file"):
        load_patch(tmp_path / "bad.json")
    with pytest.raises(InputError, match="expected a JSON object"):
        patch_from_dict([1, 2, 3])
    with pytest.raises(InputError, match="exactly the keys") as error:
        patch_from_dict({"params": {}})
    assert "predict" not in str(error.value)
    with pytest.raises(InputError, match="candidates.json\\): pass one of its patches, rank01.patch.json"):
        patch_from_dict({"candidates": [], "target": {}})  # predict's answer, passed where a patch belongs


def test_save_rejects_bad_vectors(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        save_patch(tmp_path / "p.json", torch.zeros(99))
    bad = torch.zeros(NUM_PARAMS)
    bad[PARAM_INDEX["note_pitch"]] = 1.5
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        save_patch(tmp_path / "p.json", bad)


def test_every_discrete_value_is_written_as_an_integer():
    vector = canonicalize(draw(3, 0, 1))[0]
    params = patch_to_dict(vector)["params"]
    for spec in PARAM_SPECS:
        if spec.is_discrete:
            assert isinstance(params[spec.name], int)
