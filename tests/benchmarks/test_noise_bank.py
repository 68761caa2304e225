"""The non-stationary interferers of the denoising benchmark: real babble, music and recordings, cut
reproducibly, never the source's own recording."""

import pytest
import torch

from benchmarks.noise_bank import NON_STATIONARY, NoiseBank


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    made = NoiseBank(tmp_path_factory.mktemp("noise"), clips_per_kind=1)
    if made.missing:
        pytest.skip(f"missing tools: {', '.join(made.missing)} (.ci/run installs espeak-ng, fluidsynth, "
                    "fluid-soundfont-gm and alsa-utils)")
    return made


def test_every_kind_is_real_sound_cut_to_any_length(bank):
    assert bank.kinds == NON_STATIONARY
    for kind in bank.kinds:
        piece = bank.draw(kind, 70000, torch.Generator().manual_seed(1))  # longer than some clips: looped
        assert piece.shape == (70000,) and piece.isfinite().all()
        assert float(piece.square().mean().sqrt()) == pytest.approx(1.0, rel=1e-4)
        again = bank.draw(kind, 70000, torch.Generator().manual_seed(1))
        assert torch.equal(piece, again)
    # babble and music change over time (non-stationary): their short-time level varies by more than 6 dB
    for kind in ("babble", "music"):
        frames = bank.draw(kind, 64000, torch.Generator().manual_seed(2)).reshape(-1, 1600).square().mean(1)
        assert float(10 * torch.log10(frames.max() / frames.min().clamp(min=1e-10))) > 6


def test_a_recording_is_never_mixed_with_itself(bank, monkeypatch):
    """Two stand-in recordings told apart by content: a constant one (A) and a ramp (B)."""
    monkeypatch.setitem(bank.clips, "recorded", [("A.wav", torch.ones(1000)), ("B.wav", torch.arange(1.0, 1001.0))])
    constant = lambda piece: bool((piece == piece[0]).all())  # noqa: E731
    picks = [constant(bank.draw("recorded", 500, torch.Generator().manual_seed(s))) for s in range(20)]
    assert any(picks) and not all(picks)  # without exclusion both are drawn
    assert not any(constant(bank.draw("recorded", 500, torch.Generator().manual_seed(s), exclude="A"))
                   for s in range(20))
