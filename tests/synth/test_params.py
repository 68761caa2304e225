import math

import pytest
import torch

from synth.params import (
    CONTINUOUS_INDICES,
    DISCRETE_INDICES,
    NUM_PARAMS,
    PARAM_SPECS,
    canonicalize,
    discrete_index,
    from_physical,
    spec_json,
    to_physical,
)


def test_exactly_100_unique_specs():
    assert NUM_PARAMS == 100 == len(PARAM_SPECS)
    assert len({s.name for s in PARAM_SPECS}) == 100
    assert len(CONTINUOUS_INDICES) + len(DISCRETE_INDICES) == 100


@pytest.mark.parametrize("spec", PARAM_SPECS, ids=lambda s: s.name)
def test_spec_ranges_are_valid(spec):
    assert spec.low < spec.high
    assert spec.scale in ("linear", "log")
    if spec.scale == "log":
        assert spec.low > 0
    if spec.choices is not None:
        assert spec.choices >= 2 and spec.scale == "linear"
        if spec.labels is not None:
            assert len(spec.labels) == spec.choices
    assert spec.unit and spec.description and spec.group


@pytest.mark.parametrize("spec", PARAM_SPECS, ids=lambda s: s.name)
def test_physical_round_trip(spec):
    for x in (0.0, 0.13, 0.5, 0.87, 1.0):
        value = to_physical(spec, x)
        assert spec.low - 1e-9 <= value <= spec.high + 1e-9
        back = from_physical(spec, value)
        if spec.choices is None:
            assert math.isclose(back, x, abs_tol=1e-9)
        else:
            assert to_physical(spec, back) == value


def test_discrete_index_rule_matches_design():
    x = torch.tensor([0.0, 0.249, 0.25, 0.999, 1.0])
    assert discrete_index(x, 4).tolist() == [0, 0, 1, 3, 3]


def test_from_physical_rejects_bad_values():
    cutoff = next(s for s in PARAM_SPECS if s.name == "filter_cutoff")
    octave = next(s for s in PARAM_SPECS if s.name == "osc1_octave")
    with pytest.raises(ValueError, match="outside"):
        from_physical(cutoff, 1e6)
    with pytest.raises(ValueError, match="finite"):
        from_physical(cutoff, float("nan"))
    with pytest.raises(ValueError, match="allowed values"):
        from_physical(octave, 0.5)


def test_canonicalize_snaps_only_discrete_parameters():
    x = torch.rand(4, NUM_PARAMS, generator=torch.Generator().manual_seed(0))
    c = canonicalize(x)
    assert torch.equal(c[:, list(CONTINUOUS_INDICES)], x[:, list(CONTINUOUS_INDICES)])
    for i in DISCRETE_INDICES:
        n = PARAM_SPECS[i].choices
        assert torch.equal(discrete_index(c[:, i], n), discrete_index(x[:, i], n))


def test_spec_json_is_complete():
    data = spec_json()
    assert [d["name"] for d in data] == [s.name for s in PARAM_SPECS]
    assert set(data[0]) >= {"name", "group", "low", "high", "scale", "unit", "choices", "description"}
