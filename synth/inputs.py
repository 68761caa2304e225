"""Target loading: whatever a user hands a command as "the sound to match" -> one normalised spectrogram."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from synth.audio_io import fit_length, read_wav
from synth.errors import InputError
from synth.image_io import read_png
from synth.paths import check_input_file
from synth.spectrogram import DEFAULT_CONFIG, SpectrogramConfig, dequantize, spectrogram

#: Audio files libsndfile decodes (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF); read with :func:`synth.audio_io.read_wav`.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
TARGET_SUFFIXES = (".png", ".npy", *AUDIO_SUFFIXES)


def load_target(path: str | os.PathLike, config: SpectrogramConfig = DEFAULT_CONFIG, *, downmix: bool = True,
                convert: bool = False) -> tuple[Tensor, list[str]]:
    """Load a target as a normalised spectrogram ``float32 Tensor[bins, frames]`` in [0, 1], bin 0 first.

    Accepted, by suffix:

    - ``.png``: a spectrogram image (:func:`synth.image_io.read_png`; ``convert`` opts in to converting
      colour images and resizing), dequantised ``v = u8 / 255``;
    - audio (``.wav``, ``.flac``, ``.ogg``, ``.mp3``, ...: :data:`AUDIO_SUFFIXES`) with
      :func:`synth.audio_io.read_wav` (resampled to ``config.sample_rate``; ``downmix``, the default,
      averages the channels of multichannel files, noted; False refuses them), zero-padded or truncated to
      ``config.num_samples``,
      then :func:`synth.spectrogram.spectrogram`;
    - ``.npy``: an array ``(bins, frames)``, either uint8 (as datasets store) or float in [0, 1]. Loaded
      without pickle.

    Returns the spectrogram and notes describing any conversion (for stderr). Anything else, a directory
    included, is an :class:`InputError`; a missing file is a ``FileNotFoundError``.
    """
    name = os.fspath(path)
    check_input_file(name)
    suffix = Path(name).suffix.lower()
    notes: list[str] = []
    if suffix == ".png":
        pixels = read_png(name, config=config, convert=convert, notes=notes,
                          hint="pass --convert to convert colour and resize")
        return torch.from_numpy(dequantize(pixels)), notes
    if suffix in AUDIO_SUFFIXES:
        audio, notes = load_audio(name, config, downmix=downmix)
        with torch.no_grad():
            return spectrogram(audio[None], config)[0], notes
    if suffix == ".npy":
        return _load_npy(name, config), notes
    audio = ", ".join(AUDIO_SUFFIXES)
    raise InputError(f"{name}: expected a spectrogram (.png, .npy) or audio ({audio}) file, got "
                     f"{suffix or 'a file without a suffix'!r}")


def load_audio(path: str | os.PathLike, config: SpectrogramConfig = DEFAULT_CONFIG, *, downmix: bool = True,
               start: float = 0.0) -> tuple[Tensor, list[str]]:
    """Read audio for the synth's spectrogram: ``float32 Tensor[num_samples]`` at ``config.sample_rate``.

    :func:`synth.audio_io.read_wav` (resampling; ``downmix``, the default, averages a multichannel file's channels)
    from ``start`` seconds into the file (rounded to a sample), then :func:`synth.audio_io.fit_length` to
    ``config.num_samples`` (only the head of the file up to them is decoded). Returns the audio and notes describing
    every conversion, padding and truncation included.
    """
    name = os.fspath(path)
    if not math.isfinite(start) or start < 0:
        raise InputError(f"{name}: expected a start time of at least 0 s, got {start!r}")
    offset = round(start * config.sample_rate)
    audio, notes = read_wav(name, config.sample_rate, downmix=downmix, start=offset, max_samples=config.num_samples)
    length = audio.shape[-1]
    if length < config.num_samples:
        notes.append(f"{name}: zero-padded {length / config.sample_rate:.3f} s to the synth's "
                     f"{config.duration_s:.3f} s ({config.num_samples} samples)")
    return fit_length(audio, config.num_samples), notes


def _load_npy(name: str, config: SpectrogramConfig) -> Tensor:
    expected = f"expected a ({config.bins}, {config.frames}) uint8 array or float array in [0, 1]"
    try:
        array = np.load(name, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"{name}: {expected}, could not load it as .npy ({' '.join(str(e).split())})") from None
    if not isinstance(array, np.ndarray) or array.shape != (config.bins, config.frames):
        raise InputError(f"{name}: {expected}, got shape {getattr(array, 'shape', None)}")
    if array.dtype == np.uint8:
        return torch.from_numpy(dequantize(array))
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{name}: {expected}, got dtype {array.dtype}")
    if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
        raise InputError(f"{name}: {expected}, got values outside [0, 1] or not finite")
    return torch.from_numpy(array.astype(np.float32))
