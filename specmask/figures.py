"""Before/after figure of an enhancement: spectrograms of the input, the output and what was removed."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from synth.audio_io import fit_length, read_wav  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG, spectrogram  # noqa: E402


def before_after_figure(input_wav: str | Path, output_wav: str | Path, path: str | Path, title: str = "",
                        clean_wav: str | Path | None = None) -> Path:
    """Write a PNG with the spectrograms (first 4.088 s, channels averaged, at 16 kHz) of the input, the
    output, the removed part (input - output) and, when given, the clean reference."""
    def first_window(name) -> torch.Tensor:
        audio, _ = read_wav(name, DEFAULT_CONFIG.sample_rate, downmix=True)
        return fit_length(audio, DEFAULT_CONFIG.num_samples)

    before, after = first_window(input_wav), first_window(output_wav)
    panels = [("input", before), ("output", after), ("removed (input - output)", before - after)]
    if clean_wav is not None:
        panels.append(("clean reference", first_window(clean_wav)))
    with torch.no_grad():
        images = spectrogram(torch.stack([audio for _, audio in panels]))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.2), squeeze=False)
    extent = (0, DEFAULT_CONFIG.duration_s, 0, DEFAULT_CONFIG.sample_rate / 2000)
    for ax, (label, _), image in zip(axes.flat, panels, images):
        ax.imshow(image.numpy(), origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1, extent=extent)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("time (s)", fontsize=7)
        ax.set_ylabel("kHz", fontsize=7)
        ax.tick_params(labelsize=6)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
