"""Fixed random tables: every "random" sound in the synth comes from here, never from a generator at
render time, so a parameter vector always renders the same audio.

Tables are made with NumPy's PCG64 from fixed seeds (stable across NumPy versions and machines).
Changing anything here changes the sound: bump ``SYNTH_VERSION``.
"""

from __future__ import annotations

import numpy as np

SAMPLE_HOLD_STEPS = 64
REVERB_BAND_EDGES_HZ = (500.0, 2000.0, 6000.0)  # the diffuse tail is split into 4 bands at these edges
REVERB_BAND_CENTRES_HZ = (250.0, 1000.0, 3500.0, 7000.0)
EARLY_TAPS_MS = (7.3, 11.9, 17.1, 23.5, 31.4, 41.8, 53.2, 67.9)
EARLY_GAINS = (0.8, -0.7, 0.6, -0.55, 0.5, -0.4, 0.35, -0.3)


def _rng(stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([20261121, stream])))


def white_noise(num_samples: int) -> np.ndarray:
    """Unit-variance white noise, ``float32 (num_samples,)``."""
    return _rng(1).standard_normal(num_samples).astype(np.float32)


def sample_hold() -> np.ndarray:
    """Values for the sample-and-hold LFO, uniform in [-1, 1], ``float32 (SAMPLE_HOLD_STEPS,)``."""
    return _rng(2).uniform(-1.0, 1.0, SAMPLE_HOLD_STEPS).astype(np.float32)


def drift(num_points: int, voices: int = 3, smooth_points: int = 200) -> np.ndarray:
    """Slow random wander per oscillator in about [-1, 1]: smoothed noise, ``float32 (voices, num_points)``."""
    raw = _rng(3).standard_normal((voices, num_points + smooth_points))
    kernel = np.hanning(smooth_points)
    smooth = np.stack([np.convolve(r, kernel, mode="valid")[:num_points] for r in raw])
    return (smooth / np.abs(smooth).max(axis=1, keepdims=True)).astype(np.float32)


def reverb_bands(length: int, sample_rate: int) -> np.ndarray:
    """White noise split into 4 complementary frequency bands, ``float32 (4, length)``; they sum to the noise.

    Crossovers are raised-cosine in log frequency, one octave wide, at ``REVERB_BAND_EDGES_HZ``.
    """
    noise = _rng(4).standard_normal(length)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(length, 1.0 / sample_rate)
    logf = np.log2(np.maximum(freqs, 1.0))
    below = []  # weight of "below edge e" for each edge
    for edge in REVERB_BAND_EDGES_HZ:
        x = np.clip((logf - np.log2(edge)) + 0.5, 0.0, 1.0)
        below.append(0.5 + 0.5 * np.cos(np.pi * x))
    weights = [below[0]]
    for lower, upper in zip(below[:-1], below[1:]):
        weights.append(upper - lower)
    weights.append(1.0 - below[-1])
    return np.stack([np.fft.irfft(spectrum * w, n=length) for w in weights]).astype(np.float32)
