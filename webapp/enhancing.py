"""The Enhance tab's work: a noisy recording -> the mask model's output, its before/after figure and mask.

:func:`run_enhance` checks the upload (kind, size, at most :data:`~webapp.uploads.MAX_ENHANCE_SECONDS` of
audio) and runs :func:`specmask.enhance_file.enhance_file`, the same code as ``specmask enhance``, into a fresh
folder under the app's temporary directory (removed when the app stops).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from specmask.enhance import MODES
from specmask.enhance_file import EnhanceOptions, enhance_file
from synth.errors import InputError
from webapp.uploads import MAX_UPLOAD_MB, check_length, display_name, upload_kind

# The CLI's advice, said in the page's words.
_CLI_HINTS = {"(pass --allow-clipped to process it anyway)": "(tick 'process clipped input' to go on anyway)"}


@dataclass(frozen=True)
class EnhanceResult:
    audio: Path  # the enhanced WAV (the input's rate and channels)
    figure: Path  # input / output / removed part spectrograms (first window)
    mask: Path  # the first window's mask PNG (gain x 127; 127 leaves a bin unchanged)
    summary: str


def run_enhance(model: str | os.PathLike, path: str, workdir: str | os.PathLike, mode: str = "denoise",
                strength: float = 1.0, floor: float = 0.0, allow_clipped: bool = False,
                max_mb: float = MAX_UPLOAD_MB, keep: str | None = None, exponent: float = 1.0) -> EnhanceResult:
    """Enhance the uploaded audio at ``path`` with the mask model ``model``; outputs go to a new folder in
    ``workdir``; ``keep``: the sound class to keep (``specmask enhance --keep``; ``None`` or ``"any"``: every
    sound); ``strength``, ``floor``, ``exponent``: the mask controls (:class:`specmask.enhance.MaskControls`). Bad
    input is an :class:`InputError` naming the user's file."""
    if mode not in MODES:
        raise InputError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    upload_kind(path, max_mb, allowed=("audio",))
    seconds = check_length(path)
    name = display_name(path)
    out = Path(tempfile.mkdtemp(prefix="enhance-", dir=workdir))
    stem = Path(name).stem or "audio"
    options = EnhanceOptions(mode=mode, strength=float(strength), floor=float(floor), exponent=float(exponent),
                             allow_clipped=allow_clipped,
                             figure=str(out / f"{stem}-{mode}.png"), save_mask=str(out / f"{stem}-mask.png"),
                             keep=keep)
    output = out / f"{stem}-{mode}.wav"
    try:
        report = enhance_file(path, str(output), str(model), options)
    except InputError as error:
        message = str(error).replace(path, name)
        for cli, page in _CLI_HINTS.items():
            message = message.replace(cli, page)
        raise InputError(message) from None
    summary = (f"{name}: {seconds:.1f} s, {report['sample_rate']} Hz, {report['channels']} channel(s); "
               f"{mode} in {report['compute_s']:.2f} s (real-time factor {report['real_time_factor']:.3f})")
    notes = [note.replace(path, name) for note in report["notes"]]
    return EnhanceResult(output, Path(options.figure), Path(options.save_mask), "\n".join([summary, *notes]))
