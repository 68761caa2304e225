"""The full-band benchmark's own measures: the log-spectral distance above 8 kHz sees a band limit, and the
48 kHz oracle mask really uses the clean source."""

import numpy as np
import torch
import torchaudio.functional as AF

from benchmarks.specmask_fullband import RATE, lsd_high, oracle_irm
from benchmarks.specmask_quality import si_sdr_db


def test_lsd_above_8_khz_is_zero_for_the_same_signal_and_large_for_a_band_limited_one():
    clean = (0.1 * torch.randn(RATE * 2, generator=torch.Generator().manual_seed(0))).numpy()
    narrow = AF.resample(AF.resample(torch.from_numpy(clean), RATE, 16000), 16000, RATE).numpy()
    assert lsd_high(clean, clean) == 0.0
    assert lsd_high(clean, narrow) > 20  # what users got before full band: nothing above 8 kHz
    assert lsd_high(clean, 0.5 * clean) < 6.1  # -6 dB everywhere is a 6 dB distance


def test_the_48_khz_oracle_knows_the_clean_source():
    g = torch.Generator().manual_seed(1)
    t = np.arange(RATE * 2) / RATE
    clean = (0.3 * np.sin(2 * np.pi * 440 * t) * (t % 0.5 < 0.25)).astype(np.float32)
    noisy = clean + (0.1 * torch.randn(clean.shape[0], generator=g)).numpy()
    assert si_sdr_db(oracle_irm(noisy, clean), clean) > si_sdr_db(noisy, clean) + 10
