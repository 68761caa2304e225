"""From global row indices to stored bytes: the prior, the synth and the 8-bit spectrogram, on one device.

Generation and ``verify`` both go through :class:`ExampleRenderer`, so a re-render takes exactly the path
the stored row took (device and render path, both recorded in the file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from synth import prior
from synth.errors import InputError
from synth.spectrogram import Spectrogram, SpectrogramConfig


def resolve_device(name: str) -> torch.device:
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` -> a usable device, or :class:`InputError`."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"unknown device {name!r}; expected cpu or cuda") from None
    if device.type not in ("cpu", "cuda"):
        raise InputError(f"unsupported device {name!r}; expected cpu or cuda")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError("--device cuda: no CUDA GPU is available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"--device {name}: this machine has {torch.cuda.device_count()} GPU(s)")
    return device


def row_params(seed: int, sampler: str, prior_version: str, start: int, count: int) -> np.ndarray:
    """Normalised parameters of global rows ``start .. start + count - 1`` of the dataset ``(seed, sampler,
    prior_version)``: float32 ``(count, 100)`` (what every row's render starts from)."""
    return prior.draw(seed, start, count, sampler, prior_version).numpy()


@dataclass(frozen=True)
class RenderedBatch:
    """Consecutive global rows ``start .. start + len(params) - 1``, as they are stored (NumPy, on the CPU)."""

    start: int
    params: np.ndarray  # float32 (B, 100), normalised
    spectrograms: np.ndarray  # uint8 (B, bins, frames)
    audio: np.ndarray | None  # float16 or float32 (B, num_samples), or None when audio is not stored

    def __len__(self) -> int:
        return len(self.params)


class ExampleRenderer:
    """Renders rows of the dataset defined by ``(seed, sampler, prior)``: ``render(start, count) -> RenderedBatch``.

    Row ``r`` is ``synth.prior.draw(seed, r, 1, sampler, prior)`` rendered by ``synth.render`` and turned into a
    spectrogram by ``synth.spectrogram.Spectrogram(config)``; rendering is batch-invariant, so a row's
    bytes do not depend on how rows are grouped into batches.
    """

    def __init__(self, seed: int, sampler: str, config: SpectrogramConfig, device: str = "cpu",
                 audio_dtype: str | None = None, prior: str = prior.LATEST_PRIOR, render_path: str = "eager",
                 log: Callable[[str], None] | None = None) -> None:
        """``render_path``: ``synth.render``'s path; ``"fast"`` is built on first use (a line through ``log``)
        and becomes ``"eager"`` where it cannot be built or the device is not the CPU; the path taken is
        ``self.render_path``."""
        from synth import fast_render, render  # the voice is imported only when something is rendered

        self._render = render
        self.seed = seed
        self.sampler = sampler
        self.prior = prior
        self.device = resolve_device(device)
        if render_path not in fast_render.RENDER_PATHS:
            raise InputError(f"unknown render path {render_path!r}; expected one of "
                             f"{', '.join(fast_render.RENDER_PATHS)}")
        if self.device.type != "cpu" and render_path == "fast":
            raise InputError(f"the fast render runs on the CPU; with --device {device} pass --render eager")
        self.render_path = fast_render.resolve(render_path, log=log) if self.device.type == "cpu" else "eager"
        self.audio_dtype = None if audio_dtype in (None, "none") else np.dtype(audio_dtype)
        self.spectrogram = Spectrogram(config).to(self.device)

    def params(self, start: int, count: int) -> np.ndarray:
        """Normalised parameters of global rows ``start .. start + count - 1``: float32 ``(count, 100)``."""
        return row_params(self.seed, self.sampler, self.prior, start, count)

    @torch.no_grad()
    def render_tensors(self, start: int, count: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rows ``start .. start + count - 1`` left on the renderer's device: normalised parameters
        ``float32 Tensor[count, 100]``, the stored 8-bit spectrograms ``uint8 Tensor[count, bins, frames]`` and the
        audio ``float32 Tensor[count, num_samples]`` (what :meth:`render` copies to NumPy; a trainer that renders
        its batches on the fly uses them where they are)."""
        params = torch.from_numpy(self.params(start, count)).to(self.device)
        audio = self._render(params, path=self.render_path)
        return params, self.spectrogram.quantized(audio), audio

    @torch.no_grad()
    def render(self, start: int, count: int) -> RenderedBatch:
        params, spectrograms, audio = self.render_tensors(start, count)
        params, spectrograms = params.cpu().numpy(), spectrograms.cpu().numpy()
        stored_audio = None
        if self.audio_dtype is not None:
            torch_dtype = torch.float16 if self.audio_dtype == np.float16 else torch.float32
            stored_audio = audio.to(torch_dtype).cpu().numpy()
        return RenderedBatch(start, params, spectrograms, stored_audio)
