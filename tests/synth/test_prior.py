import pytest
import torch

from synth.prior import draw, unit_cube


@pytest.mark.parametrize("sampler", ["uniform", "sobol"])
def test_rows_depend_only_on_seed_and_index(sampler):
    whole = draw(7, 0, 12, sampler)
    parts = torch.cat([draw(7, 0, 5, sampler), draw(7, 5, 7, sampler)])
    assert torch.equal(whole, parts)
    assert torch.equal(draw(7, 9, 1, sampler)[0], whole[9])
    assert not torch.equal(draw(8, 0, 12, sampler), whole)
    assert whole.dtype == torch.float32 and whole.shape == (12, 100)
    assert float(whole.min()) >= 0.0 and float(whole.max()) <= 1.0


def test_unknown_sampler_is_rejected():
    with pytest.raises(ValueError, match="expected one of"):
        unit_cube(0, 0, 1, "latin")
