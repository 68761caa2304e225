"""Offline (overlap-add) and streaming enhancement mechanics: lengths, alignment, mask controls, and the
bounded difference between streaming and offline output."""

import pytest
import torch

from inverse.backbone import Backbone
from inverse.config import BackboneConfig
from specmask.config import GeneratorConfig
from specmask.enhance import MaskControls, OverlapAdd, Streaming, WindowEnhancer
from specmask.generator import MaskGenerator
from specmask.losses import si_sdr
from synth.prior import draw
from synth.voice import render


@pytest.fixture(scope="module")
def audio():
    """Two synth notes back to back plus a bit: ~8.5 s, not a multiple of any window or block."""
    x = render(draw(seed=51, start=0, count=2)).reshape(-1)
    return torch.cat([x, x[:5000]])[None]


def ones(spec):
    return torch.ones_like(spec)


def run(processor, audio, chunk):
    out = [processor.push(piece) for piece in audio.split(chunk, dim=1)]
    if isinstance(processor, OverlapAdd):
        out.append(processor.flush())
    return torch.cat(out, dim=1)


@pytest.mark.parametrize("chunk", [1000, 65408, 200000])
def test_offline_identity_reconstructs_the_input_whatever_the_chunking(audio, chunk):
    out = run(OverlapAdd(WindowEnhancer(ones), channels=1), audio, chunk)
    assert out.shape == audio.shape
    assert float(si_sdr(out, audio)) > 40


def test_streaming_identity_is_the_input_delayed_by_the_lookahead(audio):
    stream = Streaming(WindowEnhancer(ones), channels=1, block=2048, lookahead=512)
    out = run(stream, audio, 3000)
    assert stream.latency == 2560 and out.shape[1] == (audio.shape[1] // 2048) * 2048
    aligned = out[:, 512:]
    assert float(si_sdr(aligned, audio[:, : aligned.shape[1]])) > 30


def test_mask_controls():
    mask = torch.tensor([0.0, 0.5, 1.0])
    assert torch.equal(MaskControls(strength=0.0).apply(mask), torch.ones(3))
    assert torch.allclose(MaskControls(strength=0.5).apply(mask), torch.tensor([0.5, 0.75, 1.0]))
    assert torch.equal(MaskControls(floor=0.3).apply(mask), torch.tensor([0.3, 0.5, 1.0]))
    assert torch.equal(MaskControls(invert=True).apply(mask), torch.tensor([1.0, 0.5, 0.0]))
    assert torch.equal(MaskControls(exponent=2.0).apply(mask), torch.tensor([0.0, 0.25, 1.0]))  # what it keeps, whole
    assert torch.equal(MaskControls(exponent=2.0, strength=0.5).apply(mask), torch.tensor([0.5, 0.625, 1.0]))
    with pytest.raises(ValueError, match="strength"):
        MaskControls(strength=-1)
    with pytest.raises(ValueError, match=r"exponent in \[0.25, 4\], got 5"):
        MaskControls(exponent=5)


def test_a_zero_mask_silences_and_its_inverse_keeps_everything(audio):
    zeros = lambda spec: torch.zeros_like(spec)  # noqa: E731
    silent = run(OverlapAdd(WindowEnhancer(zeros), channels=1), audio, 50000)
    assert float(silent.abs().max()) < 1e-6
    kept = run(OverlapAdd(WindowEnhancer(zeros, MaskControls(invert=True)), channels=1), audio, 50000)
    assert float(si_sdr(kept, audio)) > 40


def test_streaming_stays_close_to_offline_with_a_real_generator(audio):
    torch.manual_seed(3)
    backbone = Backbone(BackboneConfig(widths=(4, 8, 8, 8), freq_embedding_dim=8, time_embedding_dim=4,
                                       position_channels=4, latent_dim=16))
    generator = MaskGenerator(backbone, GeneratorConfig(decoder_width=8, subpixel_channels=8,
                                                        identity_init=False)).eval()
    enhancer = WindowEnhancer(generator)
    offline = run(OverlapAdd(enhancer, channels=1), audio, 65408)
    stream = run(Streaming(enhancer, channels=1, block=8192, lookahead=1024), audio, 8192)
    aligned = stream[:, 1024:]
    agreement = float(si_sdr(aligned, offline[:, : aligned.shape[1]]))
    misaligned = float(si_sdr(stream[:, 1000:1000 + aligned.shape[1]], offline[:, : aligned.shape[1]]))
    # measured 26 dB for this (untrained, mildly masking) generator; 24 dB separates offline from the input
    assert agreement > 20 and misaligned < agreement - 10, (agreement, misaligned)


@pytest.mark.parametrize("length", [16000, 100000])
def test_windows_are_padded_by_reflection_not_silence(length):
    """The model never sees digital silence that is not in the input (it was trained on windows full of sound)."""
    torch.manual_seed(0)
    audio = 0.1 * torch.randn(1, length)
    quiet_frames = []

    def recording(spec):
        quiet_frames.append(int((spec.amax(dim=2) == 0).sum()))  # frames at the -80 dB floor in every bin
        return torch.ones_like(spec)

    offline = run(OverlapAdd(WindowEnhancer(recording), channels=1), audio, 7000)
    stream = Streaming(WindowEnhancer(recording), channels=1, block=4096, lookahead=1024)
    streamed = torch.cat([stream.push(audio), stream.flush()], dim=1)
    assert quiet_frames and max(quiet_frames) == 0
    # white noise: the dropped Nyquist bin alone limits the identity round trip to ~32 dB
    assert offline.shape == audio.shape and float(si_sdr(offline, audio)) > 25
    assert streamed.shape[1] >= length + 1024 and float(si_sdr(streamed[:, 1024:1024 + length], audio)) > 25
