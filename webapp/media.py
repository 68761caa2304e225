"""Sounds and spectrograms as bytes a web page can show: WAV, colour PNG, ``data:`` URIs.

Everything stays in memory: a result page embeds its players, images and downloads as ``data:`` URIs, so a
match writes no files at all.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import soundfile
import torch
from matplotlib import colormaps
from PIL import Image

from synth.spectrogram import DEFAULT_CONFIG, quantize

#: 256-entry RGB lookup table of matplotlib's "magma" (the colour map of the project's figures).
MAGMA = (colormaps["magma"](np.linspace(0.0, 1.0, 256))[:, :3] * 255.0).round().astype(np.uint8)
#: Pixel size of the spectrogram images on a page (the 512x512 spectrogram averaged 2x2).
IMAGE_SIZE = 256


def spectrogram_image(spec: torch.Tensor, size: int = IMAGE_SIZE) -> Image.Image:
    """Normalised spectrogram ``Tensor[512, 512]`` (bin, frame) -> ``size`` x ``size`` RGB image, magma colours,
    low frequencies at the bottom."""
    u8 = quantize(spec.detach().cpu()).numpy()[::-1]
    image = Image.fromarray(np.ascontiguousarray(MAGMA[u8]), mode="RGB")
    return image.resize((size, size), Image.Resampling.BOX) if size != u8.shape[0] else image


def spectrogram_png(spec: torch.Tensor, size: int = IMAGE_SIZE) -> bytes:
    """:func:`spectrogram_image` as PNG bytes."""
    buffer = io.BytesIO()
    spectrogram_image(spec, size).save(buffer, format="PNG")
    return buffer.getvalue()


def wav_bytes(audio: torch.Tensor | np.ndarray, sample_rate: int = DEFAULT_CONFIG.sample_rate) -> bytes:
    """Mono ``audio`` ``[num_samples]`` (float, nominally in [-1, 1]) -> 16-bit PCM WAV bytes (clipped)."""
    samples = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
    samples = np.clip(np.nan_to_num(samples.astype(np.float32)), -1.0, 1.0)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, sample_rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def data_uri(mime: str, payload: bytes) -> str:
    """``payload`` as a ``data:`` URI (base64)."""
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"
