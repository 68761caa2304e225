"""Full-band enhancement (inputs above 16 kHz): the 16 kHz mask on the input's own STFT, the identity round
trip with the highs, the extension above 8 kHz, and streaming within a bound of offline at 48 kHz."""

import pytest
import torch

from inverse.backbone import Backbone
from inverse.config import BackboneConfig
from specmask.config import GeneratorConfig
from specmask.enhance import OverlapAdd, Streaming
from specmask.fullband import FullBandEnhancer, extend_mask, grid
from specmask.generator import MaskGenerator
from specmask.losses import si_sdr


def noise(rate: int, seconds: float = 6.3, seed: int = 0) -> torch.Tensor:
    """White noise: as much energy above 8 kHz as below (per Hz)."""
    return 0.1 * torch.randn(1, int(rate * seconds), generator=torch.Generator().manual_seed(seed))


def offline(enhancer, audio: torch.Tensor, chunk: int = 50000) -> torch.Tensor:
    engine = OverlapAdd(enhancer, channels=audio.shape[0])
    return torch.cat([*(engine.push(piece) for piece in audio.split(chunk, dim=1)), engine.flush()], dim=1)


def band_energy(audio: torch.Tensor, rate: int, low: float, high: float) -> float:
    spectrum = torch.fft.rfft(audio[0]).abs() ** 2
    freqs = torch.fft.rfftfreq(audio.shape[1], 1 / rate)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def test_the_grid_keeps_the_16_khz_frame_times():
    assert grid(48000) == (384, 3072, 196224) and grid(16000) == (128, 1024, 65408)
    hop, n_fft, window = grid(44100)  # 352 samples = 7.98 ms per frame
    assert n_fft == 8 * hop and window == 511 * hop and abs(hop / 44100 - 0.008) < 0.0002


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_a_mask_of_ones_gives_the_input_back_with_its_highs(rate):
    audio = noise(rate)
    out = offline(FullBandEnhancer(torch.ones_like, rate), audio)
    assert out.shape == audio.shape
    assert float(si_sdr(out, audio)) > 60
    assert band_energy(out, rate, 8500, rate / 2) == pytest.approx(band_energy(audio, rate, 8500, rate / 2), rel=1e-3)


def test_above_8_khz_each_frame_takes_its_top_band_gain():
    mask = torch.rand(2, 512, 512)
    full = extend_mask(mask, 48000)
    assert full.shape == (2, 1537, 512)
    assert torch.equal(full[:, :512], mask)  # 15.625 Hz bins at both rates: a copy
    assert torch.allclose(full[:, 512:], mask[:, 384:].mean(dim=1, keepdim=True).expand(-1, 1025, -1))
    odd = extend_mask(mask, 44100)  # bins every 15.66 Hz: interpolated, never outside the mask's range
    assert odd.shape == (2, 1409, 512) and odd.min() >= mask.min() and odd.max() <= mask.max()


def test_what_the_mask_removes_at_6_to_8_khz_goes_above_8_khz_too():
    rate = 48000

    def keep_lows(spec):
        mask = torch.ones_like(spec)
        mask[:, :, 384:] = 0.0  # silence 6-8 kHz
        return mask

    audio = noise(rate)
    out = offline(FullBandEnhancer(keep_lows, rate), audio)
    assert band_energy(out, rate, 9000, 24000) < 1e-4 * band_energy(audio, rate, 9000, 24000)
    assert band_energy(out, rate, 100, 5500) == pytest.approx(band_energy(audio, rate, 100, 5500), rel=0.01)


def test_streaming_stays_close_to_offline_at_48_khz():
    torch.manual_seed(3)
    backbone = Backbone(BackboneConfig(widths=(4, 8, 8, 8), freq_embedding_dim=8, time_embedding_dim=4,
                                       position_channels=4, latent_dim=16))
    generator = MaskGenerator(backbone, GeneratorConfig(decoder_width=8, subpixel_channels=8,
                                                        identity_init=False)).eval()
    rate, block, lookahead = 48000, 24576, 3072  # 8192 and 1024 samples at 16 kHz
    enhancer = FullBandEnhancer(lambda spec: generator(spec), rate)
    audio = noise(rate, 9.0, seed=1)
    reference = offline(enhancer, audio, 196224)
    stream = Streaming(enhancer, channels=1, block=block, lookahead=lookahead)
    streamed = torch.cat([stream.push(piece) for piece in audio.split(block, dim=1)], dim=1)
    aligned = streamed[:, lookahead:]
    agreement = float(si_sdr(aligned, reference[:, : aligned.shape[1]]))
    misaligned = float(si_sdr(streamed[:, 3000:3000 + aligned.shape[1]], reference[:, : aligned.shape[1]]))
    assert stream.latency == block + lookahead  # 573 ms at 48 kHz, as 9216 samples at 16 kHz
    assert agreement > 20 and misaligned < agreement - 10, (agreement, misaligned)
