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


def comparison_figure(target: torch.Tensor, candidates: torch.Tensor, distances: torch.Tensor,
                      path: str | Path, title: str = "", unit: str = "match",
                      form_of: list[int | None] | None = None) -> Path:
    """Write a PNG grid: target first, then each candidate labelled with rank and its distance (``unit``).

    target: ``Tensor[512, 512]`` and candidates ``Tensor[K, 512, 512]``, normalised (bin, frame) layout.
    ``form_of``: per candidate, the earlier one (0-based) whose sound it writes in another form, or None
    (:func:`inverse.differences.form_sources`); such a panel's label ends in "(= #N)" (:func:`candidate_label`).
    """
    form_of = form_of or [None] * candidates.shape[0]
    count = 1 + candidates.shape[0]
    cols = min(count, 4)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    extent = (0, DEFAULT_CONFIG.duration_s, 0, DEFAULT_CONFIG.sample_rate / 2000)
    panels = [("target", target)] + [(candidate_label(i, float(d), unit, j), c)
                                     for i, (c, d, j) in enumerate(zip(candidates, distances, form_of))]
    for ax, (label, image) in zip(axes.flat, panels):
        ax.imshow(image.numpy(), origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1, extent=extent)
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
