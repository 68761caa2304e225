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


def test_prior_2_mixes_prior_1_rows_with_musical_patches():
    from synth.params import PARAM_INDEX
    from synth.prior import RANDOM_SHARE

    v1, v2 = draw(5, 0, 600, prior="1"), draw(5, 0, 600, prior="2")
    kept = (v1 == v2).all(dim=1)
    assert abs(float(kept.float().mean()) - RANDOM_SHARE) < 0.07  # the random part is prior 1, row for row
    musical = v2[~kept]
    levels = musical[:, [PARAM_INDEX[f"osc{i}_level"] for i in (1, 2, 3)]]
    assert bool(((levels > 0).sum(dim=1) >= 1).all())
    for slot in (1, 2, 3):  # the slot at the note is any of the three
        at_note = (musical[:, PARAM_INDEX[f"osc{slot}_octave"]] == 0.5) & (levels[:, slot - 1] > 0)
        assert float(at_note.float().mean()) > 0.2
    # mostly unison / octave / fifth, FM and ring modulation mostly off
    assert float((musical[:, PARAM_INDEX["osc1_fm_index"]] == 0).float().mean()) > 0.6
    assert float((musical[:, PARAM_INDEX["ring_level"]] == 0).float().mean()) > 0.8
    semitones = torch.round(musical[:, PARAM_INDEX["osc2_semitone"]] * 25 - 0.5) - 12
    assert set(semitones.long().tolist()) <= {-12, -5, 0, 7, 12}


@pytest.mark.parametrize("sampler", ["uniform", "sobol"])
def test_prior_2_rows_depend_only_on_seed_and_index(sampler):
    whole = draw(3, 10, 9, sampler, prior="2")
    assert torch.equal(whole, torch.cat([draw(3, 10, 4, sampler, prior="2"), draw(3, 14, 5, sampler, prior="2")]))
    assert float(whole.min()) >= 0.0 and float(whole.max()) <= 1.0


def test_unknown_prior_is_rejected():
    with pytest.raises(ValueError, match="prior version"):
        draw(0, 0, 1, prior="3")
