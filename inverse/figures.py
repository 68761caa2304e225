"""The comparison figure: the target spectrogram beside the returned candidates, with distances."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402


def candidate_label(rank: int, distance: float, unit: str = "match", form_of: int | None = None) -> str:
    """A panel's title: candidate ``rank`` (0-based) with its distance, and "(= #N)" when it writes candidate
    ``form_of``'s (0-based) sound in another form."""
    return f"#{rank + 1}: {unit} {distance:.3f}" + ("" if form_of is None else f" (= #{form_of + 1})")


ZOOM_LEVEL = 0.25  # normalised value (-60 dB) above which a frame counts as sounding in the figure
ZOOM_MARGIN_S = 0.25  # shown after the last sounding frame
ZOOM_BELOW = 0.6  # zoom only where everything has ended before this share of the window (or sits below it in the band)
ZOOM_MARGIN_BAND = 1.25  # the band shown reaches this far above the highest sounding bin
ZOOM_STEP_KHZ = 0.25  # the band shown is a whole number of these, at least one


def shown_seconds(spectrograms: torch.Tensor) -> float:
    """How much of the window a figure shows: all 4.088 s, or, where every one of ``spectrograms``
    (``Tensor[K, 512, 512]``, normalised) has ended before :data:`ZOOM_BELOW` of it (a drum hit, a pluck),
    up to :data:`ZOOM_MARGIN_S` after the last frame any of them sounds in (at least 0.25 s)."""
    frames = DEFAULT_CONFIG.frames
    sounding = (spectrograms > ZOOM_LEVEL).flatten(0, 1).any(dim=0).nonzero()
    last = int(sounding[-1]) + 1 if len(sounding) else 0
    if last >= ZOOM_BELOW * frames:
        return DEFAULT_CONFIG.duration_s
    return min(DEFAULT_CONFIG.duration_s, max(0.25, last / frames * DEFAULT_CONFIG.duration_s + ZOOM_MARGIN_S))


def shown_khz(spectrograms: torch.Tensor) -> float:
    """How much of the band a figure shows: all of it (8 kHz), or, where nothing in any of ``spectrograms``
    (``Tensor[K, 512, 512]``, normalised) sounds above :data:`ZOOM_BELOW` of it (a sine bass, a low-passed pad),
    up to :data:`ZOOM_MARGIN_BAND` times the highest bin any of them sounds in, rounded up to
    :data:`ZOOM_STEP_KHZ` (so a 55 Hz sine's panels show 0-0.5 kHz instead of a line at the bottom of 0-8 kHz)."""
    nyquist_khz = DEFAULT_CONFIG.sample_rate / 2000
    sounding = (spectrograms > ZOOM_LEVEL).flatten(0, 1).any(dim=1).reshape(-1, DEFAULT_CONFIG.bins).any(dim=0)
    top = int(sounding.nonzero()[-1]) + 1 if sounding.any() else 0
    if top >= ZOOM_BELOW * DEFAULT_CONFIG.bins:
        return nyquist_khz
    khz = DEFAULT_CONFIG.bin_hz(top) * ZOOM_MARGIN_BAND / 1000
    return min(nyquist_khz, max(1, math.ceil(khz / ZOOM_STEP_KHZ)) * ZOOM_STEP_KHZ)


def comparison_figure(target: torch.Tensor, candidates: torch.Tensor, distances: torch.Tensor,
                      path: str | Path, title: str = "", unit: str = "match",
                      form_of: list[int | None] | None = None, labels: list[str] | None = None) -> Path:
    """Write a PNG grid: target first, then each candidate labelled with rank and its distance (``unit``); the
    time axis shows the whole window, or only its start where all of them are short (:func:`shown_seconds`); the
    frequency axis the whole band, or only its bottom where all of them are low (:func:`shown_khz`).

    target: ``Tensor[512, 512]`` and candidates ``Tensor[K, 512, 512]``, normalised (bin, frame) layout.
    ``form_of``: per candidate, the earlier one (0-based) whose sound it writes in another form, or None
    (:func:`inverse.differences.form_sources`); such a panel's label ends in "(= #N)" (:func:`candidate_label`).
    ``labels``: every panel's title instead, the target's first.
    """
    form_of = form_of or [None] * candidates.shape[0]
    count = 1 + candidates.shape[0]
    cols = min(count, 4)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    everything = torch.cat([target[None], candidates])
    seconds, khz = shown_seconds(everything), shown_khz(everything)
    frames = min(DEFAULT_CONFIG.frames, math.ceil(seconds / DEFAULT_CONFIG.duration_s * DEFAULT_CONFIG.frames))
    bins = min(DEFAULT_CONFIG.bins, math.ceil(khz * 1000 / DEFAULT_CONFIG.bin_hz(1)))
    # Each row drawn centred on its bin's frequency (a 55 Hz partial at 55 Hz on a zoomed axis), the axis from 0.
    top_khz = DEFAULT_CONFIG.bin_hz(bins - 0.5) / 1000
    shown_s = frames / DEFAULT_CONFIG.frames * DEFAULT_CONFIG.duration_s
    extent = (0, shown_s, -DEFAULT_CONFIG.bin_hz(0.5) / 1000, top_khz)
    panels = [("target", target)] + [(candidate_label(i, float(d), unit, j), c)
                                     for i, (c, d, j) in enumerate(zip(candidates, distances, form_of))]
    if labels is not None:
        panels = [(label, image) for label, (_, image) in zip(labels, panels, strict=True)]
    for ax, (label, image) in zip(axes.flat, panels):
        ax.imshow(image[:bins, :frames].numpy(), origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1,
                  extent=extent)
        ax.set_ylim(0, top_khz)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("time (s)", fontsize=7)
        ax.set_ylabel("kHz", fontsize=7)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    # Fixed margins in inches (room for the title, the panel titles and the axis labels): tight_layout drew the
    # whole figure once more to measure them, 1.2 of the 3 s this function took for 11 panels.
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=0.5 / width, right=1 - 0.1 / width, bottom=0.45 / height,
                        top=1 - (0.6 if title else 0.3) / height, wspace=0.28, hspace=0.38)
    # zlib level 1 instead of 6: the same pixels, 0.58 instead of 0.73 s for make demo's 11 panels, 15 % more bytes
    fig.savefig(path, dpi=110, pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return Path(path)
