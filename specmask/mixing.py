"""Training and test mixtures: a clean source, augmented, plus an interferer at a drawn SNR.

Interferers: coloured noise (white, pink, brown), mains hum (50 or 60 Hz with harmonics), another synth
voice (for separation), several at once (babble) and a sound of the ``--noise-dir`` folders (music,
recordings: non-stationary). Augmentation of the source: reverb (a synthetic room impulse response: a direct
path, then exponentially decaying noise with a drawn RT60), EQ (a torchaudio peaking biquad) and gain.
The clean target is the augmented source (``denoise`` removes the interferer, not the room). With
``band_limit_prob`` a mixture and its target are band-limited as a 44.1 or 48 kHz recording is when ``specmask
enhance`` resamples it to 16 kHz (white noise: -0.7 dB over 6-7 kHz, -2.6 over 7-7.5, -7 in the last 50 Hz;
a 48 kHz white noise resampled: -0.6, -2.2, -3.8): without it every training noise reaches 8 kHz at full level,
and the models learned to judge the noise there (a 48 kHz noise resampled to 16 kHz left them doing much less).
With ``lowpass_prob`` that share of the interferers is low-passed (1-4 cascaded biquads, 12-48 dB per octave) at a
cut-off drawn log-uniformly in ``lowpass_hz``: a noise with nothing above 7 kHz (rumble, traffic, a fan, a recording
made at a low rate) otherwise defeats the models, which had only ever heard noise up to 8 kHz. With
``bandpass_prob`` that share of the coloured-noise interferers has most of its power in one band (:func:`banded`: a
motor's or a fan's rumble, wind, a room's resonance): the shipped models, which had heard only broadband noise, removed
almost nothing of a recorded noise whose power lies at 100-300 Hz (alsa-utils' ``Noise.wav``); models trained with it
remove more of that noise but less of everything else from notes (``benchmarks/results/specmask_bandpass/``).

Everything is drawn from a generator seeded by ``(seed, index)``: mixture ``i`` is the same whatever
the batch, worker or order it is made in. Audio: ``float32 Tensor[N]`` at 16 kHz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torchaudio.functional as AF

from synth.errors import InputError, finite_float, probability
from synth.spectrogram import DEFAULT_CONFIG

INTERFERERS = ("white", "pink", "brown", "hum", "voice", "babble", "sound")
# The default draw (the shipped model's). ``babble`` (several other sources at once: a crowd of voices, notes
# and synth sounds, the non-stationary noise the benchmark found the shipped model helpless against) is opt-in.
DEFAULT_INTERFERERS = ("white", "pink", "brown", "hum", "voice")
BABBLE_SOURCES = 3  # other sources summed into one babble interferer
BANDPASS_FLOOR_DB = (-30.0, -10.0)  # its broadband floor under the band, drawn uniformly
SAMPLE_RATE = DEFAULT_CONFIG.sample_rate


@dataclass(frozen=True)
class MixConfig:
    snr_db: tuple[float, float] = (-5.0, 15.0)  # source-to-interferer ratio, drawn uniformly
    interferers: tuple[str, ...] = DEFAULT_INTERFERERS  # drawn uniformly among these (repeat one to weight it)
    reverb_prob: float = 0.3  # share of sources reverberated
    rt60_s: tuple[float, float] = (0.2, 0.9)  # reverberation time range
    eq_prob: float = 0.5  # share of sources with a peaking EQ
    eq_gain_db: tuple[float, float] = (-9.0, 9.0)
    gain_db: tuple[float, float] = (-12.0, 0.0)  # level of the whole mixture (then peak-limited to 0.99)
    band_limit_prob: float = 0.0  # share of mixtures band-limited as if resampled from a higher rate
    lowpass_prob: float = 0.0  # share of interferers low-passed at a drawn cut-off
    lowpass_hz: tuple[float, float] = (1000.0, 7500.0)  # the cut-off's range, drawn log-uniformly
    bandpass_prob: float = 0.0  # share of coloured-noise interferers with most of their power in one band
    bandpass_hz: tuple[float, float] = (60.0, 4000.0)  # that band's centre, drawn log-uniformly
    bandpass_q: tuple[float, float] = (0.7, 4.0)  # its Q (centre / bandwidth), drawn log-uniformly

    def __post_init__(self):
        unknown = set(self.interferers) - set(INTERFERERS)
        if unknown or not self.interferers:
            raise InputError(f"interferers must be a non-empty subset of {INTERFERERS}, got {self.interferers}")
        probability.check(self.reverb_prob, "reverb_prob (--reverb-prob)")
        probability.check(self.eq_prob, "eq_prob (--eq-prob)")
        probability.check(self.band_limit_prob, "band_limit_prob (--band-limit-prob)")
        probability.check(self.lowpass_prob, "lowpass_prob (--lowpass-prob)")
        probability.check(self.bandpass_prob, "bandpass_prob (--bandpass-prob)")
        ranges = {"snr_db (--snr LOW HIGH)": self.snr_db, "rt60_s": self.rt60_s, "eq_gain_db": self.eq_gain_db,
                  "gain_db": self.gain_db, "lowpass_hz (--lowpass-hz LOW HIGH)": self.lowpass_hz,
                  "bandpass_hz (--bandpass-hz LOW HIGH)": self.bandpass_hz,
                  "bandpass_q (--bandpass-q LOW HIGH)": self.bandpass_q}
        for name, (low, high) in ranges.items():
            finite_float.check(low, name)
            finite_float.check(high, name)
            if low > high:
                raise InputError(f"{name}: expected LOW <= HIGH, got {low:g} > {high:g}")
        for name, (low, high) in (("lowpass_hz (--lowpass-hz LOW HIGH)", self.lowpass_hz),
                                  ("bandpass_hz (--bandpass-hz LOW HIGH)", self.bandpass_hz)):
            if not (20 <= low and high < SAMPLE_RATE / 2):
                raise InputError(f"{name}: expected 20 <= LOW <= HIGH < {SAMPLE_RATE // 2} Hz, got {low:g} {high:g}")
        if not 0.1 <= self.bandpass_q[0]:
            raise InputError(f"bandpass_q (--bandpass-q LOW HIGH): expected 0.1 <= LOW <= HIGH, got {self.bandpass_q}")


def generator_for(seed: int, index: int) -> torch.Generator:
    """The random stream of mixture ``index`` for ``seed`` (independent of batch and worker).

    ``(seed, index)`` is hashed (splitmix64) before seeding: torch's CPU generator keeps only the low 32
    bits of a seed, so indices that differ only above bit 31 would otherwise share a stream."""
    return torch.Generator().manual_seed(_splitmix64(_splitmix64(seed) ^ index) & 0xFFFFFFFF)


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def _uniform(g: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=g))


def _log_uniform(g: torch.Generator, low: float, high: float) -> float:
    return math.exp(_uniform(g, math.log(low), math.log(high)))


def _unit_rms(x: torch.Tensor) -> torch.Tensor:
    return x / x.square().mean().sqrt().clamp(min=1e-8)


def colored_noise(kind: str, n: int, g: torch.Generator) -> torch.Tensor:
    """White, pink (-3 dB/octave) or brown (-6 dB/octave) Gaussian noise ``Tensor[n]``, unit RMS."""
    white = torch.randn(n, generator=g)
    if kind == "white":
        return _unit_rms(white)
    exponent = {"pink": 0.5, "brown": 1.0}[kind]
    spectrum = torch.fft.rfft(white)
    f = torch.arange(spectrum.shape[0], dtype=torch.float32).clamp(min=1.0)
    return _unit_rms(torch.fft.irfft(spectrum / f.pow(exponent), n))


def hum(n: int, g: torch.Generator) -> torch.Tensor:
    """Mains hum: 50 or 60 Hz and 7 harmonics with random phases and a 1/k^a roll-off, unit RMS."""
    f0 = 50.0 if float(torch.rand((), generator=g)) < 0.5 else 60.0
    rolloff = _uniform(g, 0.5, 1.5)
    t = torch.arange(n, dtype=torch.float64) / SAMPLE_RATE
    phases = 2 * math.pi * torch.rand(8, generator=g, dtype=torch.float64)
    x = sum(math.pow(k, -rolloff) * torch.sin(2 * math.pi * f0 * k * t + phases[k - 1]) for k in range(1, 9))
    return _unit_rms(x.float())


def room_impulse(rt60_s: float, g: torch.Generator) -> torch.Tensor:
    """A synthetic room impulse response: a unit direct path, then Gaussian noise decaying 60 dB in
    ``rt60_s`` (after a 5 ms gap); ``Tensor[ceil(1.2 rt60 * 16000)]``."""
    length = int(math.ceil(1.2 * rt60_s * SAMPLE_RATE))
    t = torch.arange(length, dtype=torch.float32) / SAMPLE_RATE
    tail = torch.randn(length, generator=g) * torch.exp(-6.9078 * t / rt60_s)  # ln(1000): -60 dB at rt60
    tail[: int(0.005 * SAMPLE_RATE)] = 0.0
    tail = tail / tail.square().sum().sqrt().clamp(min=1e-8) * _uniform(g, 0.3, 1.0)
    tail[0] = 1.0
    return tail


def reverberate(x: torch.Tensor, rir: torch.Tensor) -> torch.Tensor:
    """Convolve ``x`` ``Tensor[N]`` with ``rir`` by FFT, cut to ``N`` samples."""
    n = x.shape[-1] + rir.shape[-1] - 1
    size = 1 << (n - 1).bit_length()
    return torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(rir, size), size)[..., : x.shape[-1]]


def equalize(x: torch.Tensor, g: torch.Generator, gain_db: tuple[float, float]) -> torch.Tensor:
    """A peaking EQ at a log-uniform 100 Hz .. 6 kHz with a drawn gain and Q: torchaudio's ``equalizer_biquad``
    coefficients (the same float32 arithmetic), run unclamped. Its own clamps the output to [-1, 1], which a boosted
    loud source exceeds (18 of 200 training sources under a drawn EQ): the clean target came out clipped."""
    centre = _log_uniform(g, 100.0, 6000.0)
    gain, q = torch.tensor(_uniform(g, *gain_db), dtype=x.dtype), torch.tensor(_uniform(g, 0.5, 4.0), dtype=x.dtype)
    w0 = 2 * math.pi * torch.tensor(centre, dtype=x.dtype) / SAMPLE_RATE
    a, alpha = torch.exp(gain / 40.0 * math.log(10)), torch.sin(w0) / 2 / q
    b1 = -2 * torch.cos(w0)  # = a1
    return AF.lfilter(x, torch.stack([1 + alpha / a, b1, 1 - alpha / a]),
                      torch.stack([1 + alpha * a, b1, 1 - alpha * a]), clamp=False)


def mix_at_snr(source: torch.Tensor, interferer: torch.Tensor, snr_db: float) -> torch.Tensor:
    """``source + a * interferer`` with ``a`` such that ``10 log10(P_source / P(a interferer)) = snr_db``."""
    p_source = source.square().mean()
    p_interferer = interferer.square().mean().clamp(min=1e-12)
    return source + interferer * torch.sqrt(p_source / (p_interferer * 10 ** (snr_db / 10)))


@dataclass
class Mixture:
    mixture: torch.Tensor  # Tensor[N]
    clean: torch.Tensor  # Tensor[N]: the augmented source at the mixture's gain
    interferer: str
    snr_db: float


def _draw_interferer(g: torch.Generator, config: MixConfig) -> str:
    return config.interferers[int(torch.randint(len(config.interferers), (), generator=g))]


def interferer_of(index: int, seed: int, config: MixConfig) -> str:
    """The interferer kind mixture ``index`` will draw (to prepare a second voice only where needed)."""
    return _draw_interferer(generator_for(seed, index), config)


def make_mixture(source: torch.Tensor, index: int, seed: int, config: MixConfig,
                 other_voice: torch.Tensor | None = None, interferer: str | None = None,
                 snr_db: float | None = None) -> Mixture:
    """Mixture ``index``: augment ``source`` ``Tensor[N]``, add a drawn interferer at a drawn SNR.

    ``other_voice`` ``Tensor[N]`` is required when the interferer is ``voice`` or ``sound`` (an interferer sound
    of the noise folders), ``Tensor[BABBLE_SOURCES, N]`` when it is ``babble`` (each at unit RMS, circularly
    shifted by a drawn offset so they do not start together, summed); ``interferer`` and ``snr_db`` fix those
    draws (test sets at given SNRs).
    """
    g = generator_for(seed, index)
    n = source.shape[-1]
    kind = interferer or _draw_interferer(g, config)
    snr = _uniform(g, *config.snr_db)
    snr = snr if snr_db is None else snr_db
    clean = source.float()
    if float(torch.rand((), generator=g)) < config.reverb_prob:
        clean = reverberate(clean, room_impulse(_uniform(g, *config.rt60_s), g))
    if float(torch.rand((), generator=g)) < config.eq_prob:
        clean = equalize(clean, g, config.eq_gain_db)
    if kind in ("voice", "babble", "sound"):
        needed = (BABBLE_SOURCES, n) if kind == "babble" else (n,)
        if other_voice is None or tuple(other_voice.shape) != needed:
            raise ValueError(f"the {kind} interferer needs other sources of shape {needed} (other_voice)")
        if kind != "babble":
            noise = _unit_rms(other_voice.float())
        else:
            shifts = torch.randint(n, (BABBLE_SOURCES,), generator=g).tolist()
            noise = _unit_rms(sum(torch.roll(_unit_rms(row.float()), s) for row, s in zip(other_voice, shifts)))
    elif kind == "hum":
        noise = hum(n, g)
    else:
        noise = colored_noise(kind, n, g)
        if config.bandpass_prob > 0 and float(torch.rand((), generator=g)) < config.bandpass_prob:
            noise = banded(noise, g, config.bandpass_hz, config.bandpass_q)
    if config.lowpass_prob > 0 and float(torch.rand((), generator=g)) < config.lowpass_prob:
        cutoff = _log_uniform(g, *config.lowpass_hz)
        noise = lowpassed(noise, cutoff, 1 + int(torch.randint(4, (), generator=g)))
    mixture = mix_at_snr(clean, noise, snr)
    gain = 10 ** (_uniform(g, *config.gain_db) / 20)
    peak = float(mixture.abs().max().clamp(min=1e-8))
    gain = min(gain, 0.99 / peak)
    mixture, clean = mixture * gain, clean * gain
    if config.band_limit_prob > 0 and float(torch.rand((), generator=g)) < config.band_limit_prob:
        mixture, clean = band_limited(torch.stack([mixture, clean]))
    return Mixture(mixture, clean, kind, snr)


def lowpassed(audio: torch.Tensor, cutoff_hz: float, stages: int) -> torch.Tensor:
    """``audio`` ``Tensor[..., N]`` at 16 kHz through ``stages`` cascaded low-pass biquads (Q = 1/sqrt(2), the audio
    EQ cookbook's) at ``cutoff_hz``: 12 dB per octave each above it, ``Tensor[..., N]``. Not clamped (torchaudio's
    ``lowpass_biquad`` clips its output to [-1, 1], which a unit-RMS noise exceeds and which puts highs back)."""
    w0 = 2 * math.pi * cutoff_hz / SAMPLE_RATE
    alpha, cos = math.sin(w0) / math.sqrt(2), math.cos(w0)
    return _cascade(audio, [(1 - cos) / 2, 1 - cos, (1 - cos) / 2], [1 + alpha, -2 * cos, 1 - alpha], stages)


def bandpassed(audio: torch.Tensor, centre_hz: float, q: float, stages: int) -> torch.Tensor:
    """``audio`` ``Tensor[..., N]`` at 16 kHz through ``stages`` cascaded band-pass biquads (the audio EQ cookbook's,
    0 dB at ``centre_hz``, bandwidth ``centre_hz / q``), ``Tensor[..., N]``, not clamped."""
    w0 = 2 * math.pi * centre_hz / SAMPLE_RATE
    alpha, cos = math.sin(w0) / (2 * q), math.cos(w0)
    return _cascade(audio, [alpha, 0.0, -alpha], [1 + alpha, -2 * cos, 1 - alpha], stages)


def _cascade(audio: torch.Tensor, b: list[float], a: list[float], stages: int) -> torch.Tensor:
    """``audio`` through ``stages`` copies of the biquad ``b / a`` (``lfilter`` unclamped)."""
    b_t, a_t = torch.tensor(b, dtype=audio.dtype), torch.tensor(a, dtype=audio.dtype)
    for _ in range(stages):
        audio = AF.lfilter(audio, a_t, b_t, clamp=False)
    return audio


def banded(noise: torch.Tensor, g: torch.Generator, centre_hz: tuple[float, float],
           q_range: tuple[float, float] = MixConfig.bandpass_q) -> torch.Tensor:
    """``noise`` ``Tensor[N]`` with most of its power in one band, unit RMS: 1 or 2 cascaded band-pass biquads
    (:func:`bandpassed`) at a centre drawn log-uniformly in ``centre_hz``, Q log-uniform in ``q_range``,
    plus the noise as made :data:`BANDPASS_FLOOR_DB` below it (the broadband floor a recording keeps)."""
    centre, q = _log_uniform(g, *centre_hz), _log_uniform(g, *q_range)
    stages = 1 + int(torch.randint(2, (), generator=g))
    floor = 10 ** (_uniform(g, *BANDPASS_FLOOR_DB) / 20)
    return _unit_rms(_unit_rms(bandpassed(noise, centre, q, stages)) + floor * _unit_rms(noise))


def band_limited(audio: torch.Tensor) -> torch.Tensor:
    """``audio`` ``Tensor[..., N]`` at 16 kHz with the top edge a 48 kHz recording has after torchaudio's resampler
    to 16 kHz (``specmask enhance``'s): up to 48 kHz with a near-ideal filter (64 zero crossings, roll-off 0.999),
    then down with the default one, ``Tensor[..., N]``. The same at 44.1 kHz (that filter scales with the rate)."""
    up = AF.resample(audio, SAMPLE_RATE, 48000, lowpass_filter_width=64, rolloff=0.999)
    return AF.resample(up, 48000, SAMPLE_RATE)[..., :audio.shape[-1]]
