"""specmask building blocks: generator, discriminator, losses, mixtures, configs (tiny widths, real 512x512)."""

import math

import pytest
import torch

from inverse.backbone import Backbone
from inverse.config import BackboneConfig
from specmask.config import DiscriminatorConfig, GeneratorConfig, LossConfig, MaskModelConfig
from specmask.discriminator import PatchDiscriminator
from specmask.generator import MaskGenerator
from specmask.losses import (
    discriminator_loss,
    generator_adversarial_loss,
    multi_resolution_stft,
    perceptual_loss,
    si_sdr,
    sparsity_loss,
    spectral_l1,
)
from specmask.mixing import (
    MixConfig,
    colored_noise,
    generator_for,
    hum,
    make_mixture,
    room_impulse,
)
from synth.errors import InputError

TINY = BackboneConfig(widths=(4, 8, 8, 8), freq_embedding_dim=8, time_embedding_dim=4, position_channels=4,
                      latent_dim=16)


@pytest.mark.parametrize("mask_max, identity", [(1.0, 1 / (1 + math.exp(-4))), (2.0, 1.0)])
def test_generator_starts_at_identity_and_stays_in_range(mask_max, identity):
    torch.manual_seed(0)
    generator = MaskGenerator(Backbone(TINY), GeneratorConfig(decoder_width=8, subpixel_channels=8,
                                                              mask_max=mask_max))
    spec = torch.rand(2, 1, 512, 512)
    mask = generator(spec)
    assert mask.shape == (2, 1, 512, 512)
    assert torch.allclose(mask, torch.full_like(mask, identity), atol=1e-5)
    with torch.no_grad():  # after any update the mask stays in [0, mask_max]
        for p in generator.decoder.subpixel.parameters():
            p.normal_(0, 3)
        mask = generator(spec)
    assert float(mask.min()) >= 0 and float(mask.max()) <= mask_max and float(mask.std()) > 0


def test_generator_gradients_reach_backbone_and_decoder():
    torch.manual_seed(0)
    generator = MaskGenerator(Backbone(TINY), GeneratorConfig(decoder_width=8, subpixel_channels=8,
                                                              identity_init=False))
    generator(torch.rand(1, 1, 512, 512)).mean().backward()
    assert generator.backbone.stem[0].weight.grad.abs().sum() > 0
    assert generator.decoder.lateral[-1].weight.grad.abs().sum() > 0


def test_discriminator_gives_patch_logits_and_checks_shapes():
    disc = PatchDiscriminator(DiscriminatorConfig(widths=(4, 8, 8)))
    out = disc(torch.rand(2, 1, 512, 512), torch.rand(2, 1, 512, 512))
    assert out.shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="one shape"):
        disc(torch.rand(2, 1, 512, 512), torch.rand(1, 1, 512, 512))


def test_losses_on_known_cases():
    torch.manual_seed(0)
    x = torch.randn(2, 16000)
    assert float(si_sdr(x, x).min()) > 60
    noisy = x + torch.randn(2, 16000) * x.square().mean().sqrt()
    assert abs(float(si_sdr(noisy, x).mean())) < 0.5  # equal powers: about 0 dB
    assert float(si_sdr(3 * x, x).min()) > 60, "scale invariant"
    assert float(multi_resolution_stft(x, x)) < 1e-5 and float(multi_resolution_stft(noisy, x)) > 0.1
    assert float(spectral_l1(torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4))) == 1.0
    assert float(sparsity_loss(torch.ones(1, 1, 4, 4))) == 0.0
    real, fake = torch.ones(4), torch.zeros(4)
    assert float(discriminator_loss(real, fake, "lsgan")) == 0.0
    assert float(generator_adversarial_loss(fake, "lsgan")) == 1.0
    assert float(discriminator_loss(real, -real, "hinge")) == 0.0
    assert float(perceptual_loss([torch.ones(2, 3)], [torch.zeros(2, 3)])) == 1.0


def test_mixtures_are_deterministic_and_hit_the_snr():
    source = torch.sin(torch.arange(65408) / 16000 * 2 * math.pi * 440) * 0.5
    other = torch.sin(torch.arange(65408) / 16000 * 2 * math.pi * 1234) * 0.3
    config = MixConfig(reverb_prob=0.0, eq_prob=0.0)
    for index in range(6):
        a = make_mixture(source, index, seed=3, config=config, other_voice=other)
        b = make_mixture(source, index, seed=3, config=config, other_voice=other)
        assert torch.equal(a.mixture, b.mixture) and a.interferer == b.interferer
        measured = 10 * math.log10(float(a.clean.square().mean() / (a.mixture - a.clean).square().mean()))
        assert measured == pytest.approx(a.snr_db, abs=0.01)
        assert float(a.mixture.abs().max()) <= 0.99 + 1e-6
    fixed = make_mixture(source, 0, seed=3, config=MixConfig(), other_voice=other, interferer="hum", snr_db=-5.0)
    assert fixed.interferer == "hum" and fixed.snr_db == -5.0
    with pytest.raises(ValueError, match="other_voice"):
        make_mixture(source, 0, 3, MixConfig(interferers=("voice",)))


def test_noise_colours_hum_and_room_are_what_they_claim():
    def slope_db_per_octave(x):
        power = torch.fft.rfft(x).abs().square()
        low, high = power[100:200].mean(), power[1600:3200].mean()  # 4 octaves apart (bin centres)
        return 10 * math.log10(float(high / low)) / 4

    g = generator_for(0, 0)
    assert slope_db_per_octave(colored_noise("white", 65536, g)) == pytest.approx(0, abs=1)
    assert slope_db_per_octave(colored_noise("pink", 65536, g)) == pytest.approx(-3, abs=1)
    assert slope_db_per_octave(colored_noise("brown", 65536, g)) == pytest.approx(-6, abs=1)
    h = hum(16000, g)
    peak_hz = int(torch.fft.rfft(h).abs().argmax())  # 1 Hz per bin for 16000 samples
    assert peak_hz in (50, 60)
    rir = room_impulse(0.5, g)
    energy = rir[1:].square()
    early, late = energy[80:880].mean(), energy[8000 - 400:8000 + 400].mean()  # ~0.03 s and at 0.5 s
    assert 10 * math.log10(float(late / early)) == pytest.approx(-60 * (0.5 - 0.03) / 0.5, abs=6)


def test_configs_round_trip_and_reject_bad_values():
    config = MaskModelConfig(TINY, GeneratorConfig(mask_max=2.0), DiscriminatorConfig(widths=(4, 8)))
    assert MaskModelConfig.from_json(config.to_json()) == config
    with pytest.raises(InputError, match="mask_max"):
        GeneratorConfig(mask_max=0.5)
    with pytest.raises(InputError, match="waveform_kind"):
        LossConfig(waveform_kind="l2")
    with pytest.raises(InputError, match="unknown"):
        MaskModelConfig.from_json({"generator": {"bogus": 1}})
