"""The comparison figure's time axis: the whole window, or its start where every panel's sound is short."""

import pytest
import torch

from inverse.figures import ZOOM_MARGIN_S, comparison_figure, shown_seconds
from synth.spectrogram import DEFAULT_CONFIG

FRAME_S = DEFAULT_CONFIG.duration_s / DEFAULT_CONFIG.frames  # ~8 ms


def sounding_until(frame: int) -> torch.Tensor:
    """A normalised spectrogram ``Tensor[512, 512]`` at -40 dB up to ``frame``, silent after it."""
    spec = torch.zeros(DEFAULT_CONFIG.bins, DEFAULT_CONFIG.frames)
    spec[10:40, :frame] = 0.5
    return spec


def test_short_sounds_are_shown_up_to_the_last_one_to_end():
    short, longer = sounding_until(10), sounding_until(60)  # 80 ms and 480 ms
    assert shown_seconds(torch.stack([short, longer])) == pytest.approx(60 * FRAME_S + ZOOM_MARGIN_S)
    assert shown_seconds(short[None]) == pytest.approx(10 * FRAME_S + ZOOM_MARGIN_S)
    assert shown_seconds(torch.zeros(1, 512, 512)) == 0.25  # nothing sounds: the shortest view


def test_a_long_sound_anywhere_shows_the_whole_window():
    assert shown_seconds(torch.stack([sounding_until(10), sounding_until(400)])) == DEFAULT_CONFIG.duration_s
    faint_tail = sounding_until(10)
    faint_tail[10:40, :500] += 0.1  # below -60 dB (0.25): not counted
    assert shown_seconds(faint_tail[None]) == pytest.approx(10 * FRAME_S + ZOOM_MARGIN_S)


def test_the_figure_is_written_for_short_and_long_sounds(tmp_path):
    for name, frames in (("short", 10), ("long", 500)):
        path = comparison_figure(sounding_until(frames), torch.stack([sounding_until(frames)] * 3),
                                 torch.tensor([0.1, 0.2, 0.3]), tmp_path / f"{name}.png", title=name)
        assert path.stat().st_size > 1000
