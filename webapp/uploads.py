"""What the web app accepts from an upload, checked before any work starts.

Every check fails with :class:`~synth.errors.InputError` (one line) that the page shows as it is: a file of
an unknown kind, one larger than the upload limit, audio longer than a tab handles (a silent sound:
:func:`inverse.target.check_audible`, when the target is loaded). Messages
name the file the user chose, never the server's temporary path.
"""

from __future__ import annotations

import os
from pathlib import Path

import soundfile

from synth.errors import InputError, one_line
from synth.inputs import AUDIO_SUFFIXES

SPECTROGRAM_SUFFIXES = (".png", ".npy")
#: Default upload limit of the server (``--max-upload-mb``), also enforced in the browser by gradio.
MAX_UPLOAD_MB = 50
#: The Enhance tab processes at most this much audio per request (the mask model runs at ~30x real time).
MAX_ENHANCE_SECONDS = 600.0


def display_name(path: str | os.PathLike) -> str:
    """The name the user knows the upload by (gradio keeps the original file name as the last component)."""
    return Path(path).name


def user_message(error: BaseException, path: str | os.PathLike | None) -> str:
    """``error`` as one line for the page, with the server's temporary path replaced by the file's name."""
    text = one_line(error)
    if path:
        text = text.replace(os.fspath(path), display_name(path))
    return text


def upload_kind(path: str | os.PathLike | None, max_mb: float = MAX_UPLOAD_MB,
                allowed: tuple[str, ...] = ("audio", "spectrogram")) -> str:
    """``"audio"`` or ``"spectrogram"`` for an uploaded file that exists, fits ``max_mb`` and has a suffix of
    one of the ``allowed`` kinds; anything else is an :class:`InputError`."""
    if not path:
        raise InputError("no file: upload a sound or a spectrogram PNG first")
    name = display_name(path)
    if not os.path.isfile(path):
        raise InputError(f"{name}: the upload is missing on the server (upload it again)")
    size = os.path.getsize(path)
    if size > max_mb * 1e6:
        raise InputError(f"{name}: {size / 1e6:.1f} MB is larger than this server's upload limit of {max_mb:g} MB")
    if size == 0:
        raise InputError(f"{name}: the file is empty")
    suffix = Path(path).suffix.lower()
    kinds = {"audio": AUDIO_SUFFIXES, "spectrogram": SPECTROGRAM_SUFFIXES}
    for kind in allowed:
        if suffix in kinds[kind]:
            return kind
    expected = " or ".join({"audio": "a sound (" + ", ".join(AUDIO_SUFFIXES) + ")",
                            "spectrogram": "a 512x512 spectrogram (.png, .npy)"}[kind] for kind in allowed)
    raise InputError(f"{name}: expected {expected}, got {suffix or 'a file without a suffix'!r}")


def audio_seconds(path: str | os.PathLike) -> float:
    """Duration of an audio file from its header (nothing decoded); a file libsndfile cannot read is an
    :class:`InputError`."""
    try:
        info = soundfile.info(os.fspath(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise InputError(f"{display_name(path)}: expected an audio file, could not decode it "
                         f"({user_message(error, path).rstrip('.')})") from None
    if info.samplerate <= 0 or info.frames <= 0:
        raise InputError(f"{display_name(path)}: expected audio samples, the file holds none")
    return info.frames / info.samplerate


def check_length(path: str | os.PathLike, max_seconds: float = MAX_ENHANCE_SECONDS) -> float:
    """The file's duration in seconds, or an :class:`InputError` when it is longer than ``max_seconds``."""
    seconds = audio_seconds(path)
    if seconds > max_seconds:
        raise InputError(f"{display_name(path)}: {_clock(seconds)} of audio is longer than this tab handles "
                         f"({_clock(max_seconds)}); cut the part you need and upload that")
    return seconds


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"
