"""Reading and writing audio files (WAV, and anything else libsndfile reads) with ``soundfile``.

torchaudio's own file I/O needs torchcodec and FFmpeg, so it is not used; torchaudio is used only for
resampling. Audio in memory is a float32 tensor in [-1, 1], one channel.
"""

from __future__ import annotations

import math
import os

import numpy as np
import soundfile
import torch
import torchaudio.functional
from torch import Tensor

from synth.errors import InputError, one_line

WAV_SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")
# Input frames beyond the kept ones that a resampled sample can depend on: torchaudio's sinc filter (6 zero
# crossings, roll-off 0.99) reaches ~6 / 0.99 input periods of the lower rate; 8 kHz -> 16 kHz is the widest here,
# 192 kHz -> 16 kHz needs 6 / 0.99 * 12 = 73 frames. 1024 leaves room.
_RESAMPLER_REACH = 1024


def read_wav(path: str | os.PathLike, sample_rate: int = 16000, *, downmix: bool = False,
             resample: bool = True, start: int = 0, max_samples: int | None = None) -> tuple[Tensor, list[str]]:
    """Read a mono audio file as float32 ``Tensor[num_samples_in_file]`` at ``sample_rate`` Hz.

    Conversions, each described in the returned notes (for a CLI to print to stderr):

    - more than one channel: an :class:`InputError` unless ``downmix``; then the mean of the channels, or, where
      they cancel in it (out of phase: :func:`downmixed`), the loudest channel;
    - another sample rate: resampled with ``torchaudio.functional.resample`` (band-limited windowed-sinc
      interpolation, Hann window, 6 zero crossings, roll-off 0.99), or an :class:`InputError` if not
      ``resample``.

    ``start``: output samples (at ``sample_rate``) skipped first, the part of the file before them decoded and
    resampled as a whole-file read would be; a start at or past the end is an :class:`InputError`.
    ``max_samples``: keep at most this many output samples from ``start``, decoding only the head of the file that
    they need (plus the resampler's reach, so the kept samples equal those of a whole-file read): a two-hour
    upload costs no more than its first seconds. A start and a truncation are described in the notes.

    An unreadable or non-audio file, an empty file and non-finite samples are an :class:`InputError`;
    a missing file is a ``FileNotFoundError``. The length is the file's (see :func:`fit_length`), or at most
    ``max_samples``.
    """
    name = os.fspath(path)
    notes: list[str] = []
    with open(name, "rb") as f:
        try:
            with soundfile.SoundFile(f) as sound:
                file_rate, total = sound.samplerate, sound.frames
                frames = -1
                if max_samples is not None:
                    frames = math.ceil((start + max_samples) * file_rate / sample_rate) + _RESAMPLER_REACH
                data = sound.read(frames, dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError, TypeError) as e:
            reason = one_line(getattr(e, "error_string", None) or str(e)).rstrip(".")
            raise InputError(f"{name}: expected an audio file (WAV), could not decode it ({reason})") from None
    num_frames, channels = data.shape
    if num_frames == 0:
        raise InputError(f"{name}: expected audio samples, the file is empty (0 samples)")
    if not np.isfinite(data).all():
        raise InputError(f"{name}: expected finite audio samples, found NaN or infinity")
    if channels > 1:
        if not downmix:
            raise InputError(f"{name}: expected mono audio, got {channels} channels "
                             f"(--downmix averages the channels)")
        data, how = downmixed(data)
        notes.append(f"{name}: {how}")
    audio = torch.from_numpy(np.ascontiguousarray(data[:, 0]))
    if file_rate != sample_rate:
        if not resample:
            raise InputError(f"{name}: expected a sample rate of {sample_rate} Hz, got {file_rate} Hz")
        audio = torchaudio.functional.resample(audio, file_rate, sample_rate)
        notes.append(f"{name}: resampled {file_rate} Hz -> {sample_rate} Hz")
    if start:
        if start >= audio.shape[-1]:
            raise InputError(f"{name}: nothing to read from {start / sample_rate:.3f} s on: the file is "
                             f"{total / file_rate:.3f} s long")
        audio = audio[start:]
    if max_samples is not None and audio.shape[-1] > max_samples:
        audio = audio[:max_samples].clone()
        where = f"its first {max_samples / sample_rate:.3f} s" if not start else \
            f"the {max_samples / sample_rate:.3f} s from {start / sample_rate:.3f} s on"
        notes.append(f"{name}: truncated {total / file_rate:.3f} s to {where} ({max_samples} samples)")
    elif start:
        notes.append(f"{name}: read from {start / sample_rate:.3f} s on (of {total / file_rate:.3f} s)")
    return audio, notes


#: Channels cancel in their mean where it is this many dB or more below the level unrelated channels' mean would
#: have (the channels' powers summed over their count squared): strongly out of phase. One silent channel of two
#: (a mono sound panned hard left) does not count: its mean is 6 dB below the sounding channel, as unrelated ones.
CANCEL_DB = 6.0


def downmixed(data: np.ndarray) -> tuple[np.ndarray, str]:
    """One channel from float32 ``data`` ``(frames, C)``: ``(frames, 1)`` and what was done, for a note. The mean of
    the channels, or, where they cancel in it (:data:`CANCEL_DB`: a stereo file whose sides are out of phase, whose
    mean is silent or thin), the loudest channel, which is the sound as recorded."""
    channels = data.shape[1]
    powers = np.square(data, dtype=np.float64).mean(axis=0)
    mean = data.mean(axis=1, keepdims=True, dtype=np.float32)
    unrelated = float(powers.sum()) / channels ** 2
    power = float(np.square(mean, dtype=np.float64).mean())
    if unrelated > 0.0 and power < unrelated * 10.0 ** (-CANCEL_DB / 10.0):
        loudest = int(powers.argmax())
        level = "silent" if power <= unrelated * 1e-12 else \
            f"{10.0 * math.log10(unrelated / power):.1f} dB below what unrelated channels give"
        return data[:, loudest:loudest + 1], (f"read channel {loudest + 1} of {channels}, the loudest: the mean of the "
                                             f"channels is {level}, they cancel (out of phase)")
    return mean, f"downmixed {channels} channels to mono (mean of the channels)"


def fit_length(audio: Tensor, num_samples: int) -> Tensor:
    """Zero-pad at the end or truncate the last axis of ``audio`` (``Tensor[..., T]``) to ``num_samples``.

    The synth and the spectrogram use ``SpectrogramConfig.num_samples`` (65408 samples = 4.088 s at
    16 kHz); longer input keeps its first ``num_samples`` samples, shorter input is followed by silence.
    Returns ``audio`` itself when it already has that length.
    """
    length = audio.shape[-1]
    if length == num_samples:
        return audio
    if length > num_samples:
        return audio[..., :num_samples]
    return torch.nn.functional.pad(audio, (0, num_samples - length))


def write_wav(path: str | os.PathLike, audio: Tensor | np.ndarray, sample_rate: int = 16000, *,
              subtype: str = "PCM_16") -> int:
    """Write mono ``audio`` (``[num_samples]``, float in [-1, 1]) as a WAV file.

    ``subtype`` ``"PCM_16"`` (default; what players and other tools expect) or ``"PCM_24"`` clip samples
    outside [-1, 1] before conversion (libsndfile would otherwise wrap them around); ``"FLOAT"`` stores the
    float32 samples losslessly, unclipped. Returns the number of samples that were clipped.
    Unwritable paths raise ``OSError``; non-finite samples a ``ValueError``.
    """
    if subtype not in WAV_SUBTYPES:
        raise ValueError(f"unknown WAV subtype {subtype!r}; expected one of {', '.join(WAV_SUBTYPES)}")
    if isinstance(audio, Tensor):
        audio = audio.detach().cpu().numpy()
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono audio of shape (num_samples,), got {samples.shape}")
    if not np.isfinite(samples).all():
        raise ValueError("cannot write audio with NaN or infinite samples")
    clipped = 0
    if subtype != "FLOAT":
        outside = np.abs(samples) > 1.0
        clipped = int(outside.sum())
        if clipped:
            samples = np.clip(samples, -1.0, 1.0)
    with open(os.fspath(path), "wb") as f:
        soundfile.write(f, samples, sample_rate, subtype=subtype, format="WAV")
    return clipped
