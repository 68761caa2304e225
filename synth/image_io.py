"""Spectrogram PNG files: 8-bit grayscale, width = time frames, HIGHEST frequency bin in row 0.

In memory a spectrogram image is a uint8 array ``(bins, frames)`` with bin 0 (0 Hz) first, the same bytes
a dataset stores (:func:`synth.spectrogram.quantize`); only the file is flipped, so that low frequencies
are drawn at the bottom as people expect.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from synth.errors import InputError
from synth.spectrogram import DEFAULT_CONFIG, SpectrogramConfig

# Pillow modes of 16-bit grayscale PNGs (which one depends on the Pillow version and byte order).
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")


def write_png(path: str | os.PathLike, u8: np.ndarray | torch.Tensor) -> None:
    """Write a uint8 spectrogram ``(bins, frames)`` (bin 0 first) as an 8-bit grayscale PNG.

    The file's row 0 is the highest bin. Unwritable paths raise ``OSError``.
    """
    if isinstance(u8, torch.Tensor):
        u8 = u8.detach().cpu().numpy()
    if not isinstance(u8, np.ndarray) or u8.dtype != np.uint8 or u8.ndim != 2:
        raise ValueError(f"expected a uint8 array (bins, frames), got {getattr(u8, 'dtype', type(u8))} "
                         f"{getattr(u8, 'shape', '')}")
    image = Image.fromarray(np.ascontiguousarray(u8[::-1]))  # uint8 2-D: mode "L"
    with open(os.fspath(path), "wb") as f:
        image.save(f, format="PNG")


def read_png(path: str | os.PathLike, *, config: SpectrogramConfig = DEFAULT_CONFIG, convert: bool = False,
             notes: list[str] | None = None, hint: str = "convert=True converts and resizes") -> np.ndarray:
    """Read a spectrogram PNG as uint8 ``(bins, frames)``, bin 0 (0 Hz) first.

    Accepted without conversion: a ``frames`` x ``bins`` (512x512) grayscale PNG, 8-bit, or 16-bit
    (scaled to 8 bits as ``round(v / 257)``, so 16-bit images made from 8-bit ones read back exactly).
    Anything else is an :class:`InputError` saying what was expected, unless ``convert`` (opt-in) is set:
    then any image Pillow reads is converted to grayscale (ITU-R 601 luma; alpha dropped) and resized
    to ``frames`` x ``bins`` with bilinear interpolation. Conversions are described in ``notes`` when a
    list is given. A missing file is a ``FileNotFoundError``. ``hint`` ends the message about an image of the
    wrong size or kind: what the caller's user can do about it (e.g. the command-line option that converts).
    """
    name = os.fspath(path)
    expected = f"expected a {config.frames}x{config.bins} grayscale PNG (8- or 16-bit)"
    with open(name, "rb") as f:
        try:
            image = Image.open(f)
            image.load()
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as e:
            if isinstance(e, FileNotFoundError):
                raise
            raise InputError(f"{name}: {expected}, got a file that is not a readable image") from None
    found = f"a {image.width}x{image.height} {image.mode} {image.format or ''} image".replace("  ", " ")
    grayscale = image.mode == "L" or image.mode in _SIXTEEN_BIT_MODES
    size_ok = image.size == (config.frames, config.bins)
    if not convert and not (image.format == "PNG" and grayscale and size_ok):
        raise InputError(f"{name}: {expected}, got {found} ({hint})")
    if image.mode in _SIXTEEN_BIT_MODES:
        wide = np.asarray(image).astype(np.int64)
        if wide.min() < 0 or wide.max() > 65535:
            raise InputError(f"{name}: {expected}, got a {image.mode} image with values outside 0..65535")
        # round(v / 257) in integers; no ties are possible because 257 is odd.
        pixels = ((wide + 128) // 257).astype(np.uint8)
        if notes is not None:
            notes.append(f"{name}: 16-bit image scaled to 8 bits (round(v / 257))")
    elif image.mode == "L":
        pixels = np.asarray(image, dtype=np.uint8)
    else:
        pixels = np.asarray(image.convert("L"), dtype=np.uint8)
        if notes is not None:
            notes.append(f"{name}: converted {image.mode} to grayscale")
    if not size_ok:
        resized = Image.fromarray(pixels).resize((config.frames, config.bins), Image.Resampling.BILINEAR)
        pixels = np.asarray(resized, dtype=np.uint8)
        if notes is not None:
            notes.append(f"{name}: resized {image.width}x{image.height} to {config.frames}x{config.bins}")
    return np.ascontiguousarray(pixels[::-1])
