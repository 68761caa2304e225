"""Streaming resampling equals torchaudio's whole-signal resampling, whatever the pieces."""

import pytest
import torch
import torchaudio.functional as AF

from specmask.resample import StreamResampler


@pytest.mark.parametrize("orig, new", [(44100, 16000), (16000, 44100), (48000, 16000), (22050, 16000),
                                       (16000, 16000)])
@pytest.mark.parametrize("piece", [61, 777, 100000])
def test_pieces_give_the_whole_signal_result(orig, new, piece):
    torch.manual_seed(0)
    x = torch.randn(2, 30001)
    whole = AF.resample(x, orig, new)
    resampler = StreamResampler(orig, new, channels=2)
    out = torch.cat([*(resampler.push(c) for c in x.split(piece, dim=1)), resampler.flush()], dim=1)
    assert out.shape == whole.shape
    assert torch.allclose(out, whole, atol=1e-5)
