"""Training mixtures: deterministic per index whatever the batch, onsets anywhere, WAV folders as sources."""

import math

import numpy as np
import pytest
import soundfile
import torch

from specmask.data import MixtureDataset, SourcePool
from specmask.mixing import MixConfig
from synth.errors import InputError


@pytest.fixture(scope="module")
def dataset():
    return MixtureDataset(SourcePool(seed=4), MixConfig(), seed=4, start=10, count=6)


def test_an_example_is_the_same_in_any_batch(dataset):
    mixtures, cleans, cues = dataset.__getitems__([0, 1, 2, 3])
    again, again_clean, _ = dataset.__getitems__([3, 1])
    assert torch.equal(again[0], mixtures[3]) and torch.equal(again[1], mixtures[1])
    assert torch.equal(again_clean[0], cleans[3])
    single, _, cue = dataset[2]
    assert int(cue) == 0 and not cues.any(), "no sound classes: no cue"
    assert torch.equal(single, mixtures[2])
    assert mixtures.shape == (4, 65408) and float(mixtures.abs().max()) <= 0.99 + 1e-6
    with pytest.raises(IndexError):
        dataset.__getitems__([6])


def test_synth_sources_are_rolled_so_onsets_land_anywhere():
    pool = SourcePool(seed=4)
    sources = pool.sources(list(range(8)))
    first_loud = [int((s.abs() > 0.01 * s.abs().max()).nonzero()[0]) for s in sources]
    assert max(first_loud) > 8000, first_loud  # a plain render starts its note at sample 0
    assert bool((sources.square().mean(dim=1).sqrt() > 1e-4).all()), "silent draws are replaced"


def test_wav_folders_are_sources(tmp_path):
    rate = 22050
    t = np.arange(int(rate * 1.5)) / rate
    soundfile.write(tmp_path / "a.wav", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)
    soundfile.write(tmp_path / "silent.wav", np.zeros(1000, np.float32), rate)  # skipped
    pool = SourcePool(seed=1, wav_dirs=[tmp_path], external_share=1.0)
    assert pool.num_external == 1
    sources = pool.sources([0, 1])
    active = (sources.abs() > 0).sum(dim=1)
    assert torch.all((active > 16000 * 1.4) & (active < 16000 * 1.6))  # 1.5 s placed in a 4.088 s window
    spectrum = torch.fft.rfft(sources[0]).abs()
    assert abs(int(spectrum.argmax()) * 16000 / 65408 - 440) < 2
    with pytest.raises(InputError, match="no .wav|found none"):
        SourcePool(seed=1, wav_dirs=[tmp_path / "nothing"])


def test_streams_of_far_apart_indices_differ_and_the_second_voice_is_another_sound():
    from specmask.data import _VOICE_INDEX
    from specmask.mixing import generator_for

    # torch's CPU generator keeps 32 bits of a seed: index and index + 2**40 must still get their own streams
    a, b = torch.rand(4, generator=generator_for(5, 3)), torch.rand(4, generator=generator_for(5, 3 + 2**40))
    assert not torch.equal(a, b)
    pool = SourcePool(seed=22)
    source, voice = pool.sources([3])[0], pool.sources([3 + _VOICE_INDEX])[0]
    correlation = float((source * voice).sum() / (source.norm() * voice.norm()))
    assert abs(correlation) < 0.5, correlation


def test_bounded_si_sdr_saturates_for_clean_rows_only():
    from specmask.losses import bounded_si_sdr, si_sdr

    torch.manual_seed(0)
    clean = torch.randn(2, 16000)
    estimate = torch.stack([clean[0], clean[1] + 0.5 * torch.randn(16000)])
    bounded, plain = bounded_si_sdr(estimate, clean), si_sdr(estimate, clean)
    assert float(plain[0]) > 60 and abs(float(bounded[0]) - 30) < 0.01
    assert abs(float(bounded[1]) - float(plain[1])) < 0.05  # 6 dB: the 30 dB ceiling costs ~0.02 dB


def test_dataset_audio_rows_are_sources(tmp_path):
    from dataset_gen.generate import GenerateOptions, generate
    from dataset_gen.reader import SpectrogramDataset

    data = tmp_path / "audio.h5"
    generate(GenerateOptions(num_rows=2, out=data, seed=8, batch_size=2, audio_dtype="float32"), progress=False)
    rows = SpectrogramDataset(data, audio=True)
    pool = SourcePool(seed=1, audio_data=data, external_share=1.0)
    assert pool.num_external == 2
    sources = pool.sources([0, 1, 2])
    stored = torch.stack([rows[i][2] for i in range(2)])
    for source in sources:  # each is one stored row (a whole row: the window is the dataset's length)
        assert any(torch.equal(source, row) for row in stored)


def test_babble_is_several_other_sources_at_once_and_opt_in():
    """The babble interferer sums BABBLE_SOURCES other pool sources (unit RMS each, shifted); it is drawn only
    when asked for, so the default mixtures (and the shipped model's recipe) are unchanged."""
    from specmask.mixing import BABBLE_SOURCES, DEFAULT_INTERFERERS, MixConfig, make_mixture

    assert "babble" not in MixConfig().interferers and MixConfig().interferers == DEFAULT_INTERFERERS
    source = torch.randn(8000, generator=torch.Generator().manual_seed(0))
    t = torch.arange(8000) / 16000
    tones = (300.0, 700.0, 1100.0)[:BABBLE_SOURCES]
    others = torch.stack([torch.sin(2 * torch.pi * f * t) for f in tones])  # 8000 samples: whole periods
    config = MixConfig(interferers=("babble",), reverb_prob=0.0, eq_prob=0.0)
    m = make_mixture(source, 3, 7, config, other_voice=others, snr_db=0.0)
    noise = m.mixture - m.clean
    assert m.interferer == "babble"
    assert float(noise.square().mean() / m.clean.square().mean()) == pytest.approx(1.0, rel=1e-3)  # 0 dB
    spectrum = torch.fft.rfft(noise).abs()
    peaks = [int(f * 8000 / 16000) for f in tones]  # every other source is in it, at equal level
    assert all(float(spectrum[p]) > 0.3 * float(spectrum.max()) for p in peaks)
    with pytest.raises(ValueError, match="babble interferer needs other sources of shape"):
        make_mixture(source, 3, 7, config, other_voice=others[0], snr_db=0.0)


def test_babble_mixtures_come_from_the_pool_deterministically():
    pool = SourcePool(5)
    data = MixtureDataset(pool, MixConfig(interferers=("babble",), snr_db=(0.0, 0.0)), seed=9, start=0, count=3)
    first, clean, _ = data.__getitems__([0, 1, 2])
    again, _, _ = MixtureDataset(pool, MixConfig(interferers=("babble",), snr_db=(0.0, 0.0)), 9, 0, 3).__getitems__(
        [2, 0])
    assert torch.equal(again[0], first[2]) and torch.equal(again[1], first[0])  # batch-independent
    assert not torch.equal(first, clean) and first.isfinite().all()


def test_noise_folders_are_looped_interferers_never_sources(tmp_path):
    rate = 16000
    t = np.arange(rate // 2) / rate
    soundfile.write(tmp_path / "beep.wav", (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), rate)
    pool = SourcePool(seed=3, noise_dirs=[tmp_path])
    assert pool.num_external == 0, "an interferer sound is never a source"
    sounds = pool.noises([0, 1])
    frames = sounds[:, :65000].reshape(2, -1, 1000).square().mean(dim=2).sqrt()
    assert sounds.shape == (2, 65408) and bool((frames > 0.3).all()), "0.5 s looped over the whole window"
    dataset = MixtureDataset(pool, MixConfig(interferers=("sound",)), seed=3, start=0, count=4)
    mixtures, cleans, _ = dataset.__getitems__([0, 1])
    spectrum = torch.fft.rfft(mixtures[0] - cleans[0]).abs()
    assert abs(int(spectrum.argmax()) * rate / 65408 - 1000) < 2, "the interferer is the folder's 1 kHz tone"
    assert torch.equal(dataset.__getitems__([1])[0][0], mixtures[1])
    with pytest.raises(InputError, match="--noise-dir"):
        MixtureDataset(SourcePool(seed=3), MixConfig(interferers=("sound",)), seed=3, start=0, count=1)[0]


def test_the_sound_interferer_and_noise_folders_go_together(tmp_path):
    from specmask.train import Sources, train

    for mix, sources in ((MixConfig(interferers=("white", "sound")), None),
                         (None, Sources(noise_dirs=(str(tmp_path),)))):
        with pytest.raises(InputError, match="give --noise-dir FOLDER and add sound"):
            train(tmp_path / "run", mix=mix, sources=sources, device="cpu", progress=False)


def test_band_limited_mixtures_lose_the_top_edge_as_a_resampled_recording_does_and_are_opt_in():
    """``band_limit_prob``: mixture and target through the 48 -> 16 kHz resampler's top edge (the low band kept, the
    last 100 Hz below 8 kHz 5+ dB down, as a 48 kHz recording after ``specmask enhance``'s resampling), with the
    same draws otherwise; off by default."""
    import torchaudio.functional as AF

    from specmask.mixing import band_limited, colored_noise, generator_for, make_mixture

    white = colored_noise("white", 65408, generator_for(0, 0))
    recorded = AF.resample(colored_noise("white", 3 * 65408, generator_for(0, 0)), 48000, 16000)
    f = torch.fft.rfftfreq(65408, 1 / 16000)

    def level_db(x, low, high):  # mean power in [low, high) Hz relative to 1-2 kHz
        power = torch.fft.rfft(x).abs().square()
        return float(10 * torch.log10(power[(f >= low) & (f < high)].mean() / power[(f >= 1000) & (f < 2000)].mean()))

    narrow = band_limited(white)
    assert narrow.shape == white.shape and level_db(narrow, 1000, 2000) == 0.0
    assert abs(level_db(narrow, 3000, 5000) - level_db(white, 3000, 5000)) < 0.2
    assert level_db(narrow, 7900, 8000) < level_db(white, 7900, 8000) - 5
    assert level_db(recorded, 7900, 8000) < -3  # what it stands for: a 48 kHz noise resampled to 16 kHz
    source = torch.randn(65408, generator=torch.Generator().manual_seed(1))
    assert MixConfig().band_limit_prob == 0
    plain, limited = make_mixture(source, 3, 1, MixConfig()), make_mixture(source, 3, 1, MixConfig(band_limit_prob=1))
    assert (plain.interferer, plain.snr_db) == (limited.interferer, limited.snr_db)
    assert torch.allclose(limited.mixture, band_limited(plain.mixture), atol=1e-6)
    assert torch.allclose(limited.clean, band_limited(plain.clean), atol=1e-6)
    with pytest.raises(InputError, match="band_limit_prob"):
        MixConfig(band_limit_prob=1.5)


def test_the_eq_boosts_a_loud_source_without_clipping_it():
    """A peaking EQ of +9 dB on a source peaking at 0.9 goes past 1 and stays linear: the same filter at a tenth of
    the level, scaled back, gives the same samples (torchaudio's own ``equalizer_biquad`` clips at [-1, 1])."""
    from specmask.mixing import equalize

    source = 0.9 * torch.sin(torch.arange(16000) * 2 * math.pi * 1000 / 16000)
    loud = equalize(source, torch.Generator().manual_seed(0), (9.0, 9.0))
    quiet = equalize(source / 10, torch.Generator().manual_seed(0), (9.0, 9.0))
    assert float(loud.abs().max()) > 1.2
    assert torch.allclose(loud, 10 * quiet, atol=1e-4)


def test_lowpassed_interferers_lose_their_highs_unclipped_keep_the_snr_and_are_opt_in():
    """``lowpass_prob``: the interferer low-passed at a drawn cut-off (-24 dB an octave above it with two stages, not
    clipped to [-1, 1] as torchaudio's ``lowpass_biquad`` would), mixed at the same drawn SNR; off by default."""
    from specmask.mixing import colored_noise, generator_for, lowpassed, make_mixture

    white = colored_noise("white", 65408, generator_for(0, 0))
    f = torch.fft.rfftfreq(65408, 1 / 16000)
    power = torch.fft.rfft(lowpassed(white, 2000.0, 2)).abs().square()
    band = [float(power[(f >= low) & (f < low * 1.2)].mean()) for low in (500.0, 4000.0)]
    assert 10 * math.log10(band[0] / band[1]) > 20
    assert float(lowpassed(3 * white, 7000.0, 1).abs().max()) > 3  # not clipped
    source = torch.randn(65408, generator=torch.Generator().manual_seed(1))
    assert MixConfig().lowpass_prob == 0
    config = MixConfig(interferers=("white",), lowpass_prob=1, lowpass_hz=(1500.0, 1500.0), gain_db=(0.0, 0.0))
    plain, cut = make_mixture(source, 3, 1, MixConfig(interferers=("white",), gain_db=(0.0, 0.0))), \
        make_mixture(source, 3, 1, config)
    assert (plain.interferer, plain.snr_db) == (cut.interferer, cut.snr_db)
    noise = cut.mixture - cut.clean
    assert abs(10 * math.log10(cut.clean.square().mean() / noise.square().mean()) - cut.snr_db) < 0.01
    spectrum = torch.fft.rfft(noise).abs().square()
    assert float(spectrum[f > 6000].mean()) < 1e-3 * float(spectrum[f < 1000].mean())
    for bad in ({"lowpass_prob": -0.1}, {"lowpass_hz": (2000.0, 1000.0)}, {"lowpass_hz": (1000.0, 8000.0)}):
        with pytest.raises(InputError, match="lowpass"):
            MixConfig(**bad)


def test_banded_interferers_put_most_power_in_one_band_over_a_floor_and_are_opt_in():
    """``bandpass_prob``: a coloured noise given most of its power around a drawn centre (1-2 band-pass biquads over a
    broadband floor 10-30 dB down), mixed at the same drawn SNR; off by default, where mixtures are as before."""
    from specmask.mixing import banded, colored_noise, generator_for, make_mixture

    white = colored_noise("white", 65408, generator_for(0, 0))
    f = torch.fft.rfftfreq(65408, 1 / 16000)
    power = torch.fft.rfft(banded(white, torch.Generator().manual_seed(3), (150.0, 150.0))).abs().square()
    share_db = [10 * math.log10(float(power[(f >= low) & (f < high)].sum() / power.sum()))
                for low, high in ((100.0, 300.0), (4000.0, 8000.0))]
    assert share_db[0] > -2 and -40 < share_db[1] < -10  # the band, and a floor under it
    broad = torch.fft.rfft(banded(white, torch.Generator().manual_seed(3), (150.0, 150.0), (0.3, 0.3))).abs().square()
    in_band = (f >= 100.0) & (f < 300.0)
    assert float(broad[in_band].sum() / broad.sum()) < 0.6 < 0.75 < float(power[in_band].sum() / power.sum())  # Q
    source = torch.randn(65408, generator=torch.Generator().manual_seed(1))
    assert MixConfig().bandpass_prob == 0
    plain = make_mixture(source, 3, 1, MixConfig(interferers=("pink",), gain_db=(0.0, 0.0)))
    assert torch.equal(plain.mixture, make_mixture(source, 3, 1, MixConfig(interferers=("pink",), gain_db=(0.0, 0.0),
                                                                             bandpass_prob=0.0)).mixture)
    config = MixConfig(interferers=("pink",), bandpass_prob=1, bandpass_hz=(2000.0, 2000.0), gain_db=(0.0, 0.0))
    cut = make_mixture(source, 3, 1, config)
    assert (plain.interferer, plain.snr_db) == (cut.interferer, cut.snr_db)
    noise = cut.mixture - cut.clean
    assert abs(10 * math.log10(cut.clean.square().mean() / noise.square().mean()) - cut.snr_db) < 0.01
    spectrum = torch.fft.rfft(noise).abs().square()
    assert float(spectrum[(f > 1500) & (f < 2500)].mean()) > 30 * float(spectrum[f > 5000].mean())  # banded
    for bad in ({"bandpass_prob": 1.5}, {"bandpass_hz": (500.0, 100.0)}, {"bandpass_hz": (10.0, 100.0)},
                {"bandpass_q": (2.0, 1.0)}, {"bandpass_q": (0.05, 1.0)}):
        with pytest.raises(InputError, match="bandpass"):
            MixConfig(**bad)
