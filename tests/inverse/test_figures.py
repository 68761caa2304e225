"""The comparison figure's axes: the whole window, or its start where every panel's sound is short; the whole band,
or its bottom where every panel's sound is low."""

import pytest
import torch

from inverse.figures import ZOOM_MARGIN_S, comparison_figure, shown_khz, shown_seconds
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


def sounding_up_to(top_bin: int, level: float = 0.5) -> torch.Tensor:
    """A normalised spectrogram ``Tensor[512, 512]`` at ``level`` in bins 2..``top_bin``, silent above."""
    spec = torch.zeros(DEFAULT_CONFIG.bins, DEFAULT_CONFIG.frames)
    spec[2:top_bin + 1, :300] = level
    return spec


def test_low_sounds_are_shown_up_to_a_margin_above_the_highest_one():
    # A 55 Hz sine's energy ends near bin 23 (359 Hz; 1.25x: 449 Hz): 0-0.5 kHz, in steps of 0.25 kHz.
    assert shown_khz(sounding_up_to(23)[None]) == 0.5
    assert shown_khz(torch.stack([sounding_up_to(23), sounding_up_to(100)])) == 2.0  # 1.56 kHz * 1.25 = 1.95
    assert shown_khz(sounding_up_to(3)[None]) == 0.25  # never less than one step
    assert shown_khz(torch.zeros(1, 512, 512)) == 0.25  # nothing sounds: the narrowest view


def test_a_sound_high_in_the_band_anywhere_shows_the_whole_band():
    assert shown_khz(torch.stack([sounding_up_to(23), sounding_up_to(400)])) == DEFAULT_CONFIG.sample_rate / 2000
    faint_highs = sounding_up_to(23)
    faint_highs[23:500, :300] = 0.2  # below -60 dB (0.25): not counted
    assert shown_khz(faint_highs[None]) == 0.5


def test_a_low_sound_is_drawn_with_its_bins_on_their_frequencies(tmp_path, monkeypatch):
    drawn = {}

    def spy(self, image, **kwargs):
        drawn.update(rows=image.shape[0], extent=kwargs["extent"])
        return original(self, image, **kwargs)

    import matplotlib.axes
    original = matplotlib.axes.Axes.imshow
    monkeypatch.setattr(matplotlib.axes.Axes, "imshow", spy)
    comparison_figure(sounding_up_to(23), sounding_up_to(23)[None], torch.tensor([0.1]), tmp_path / "low.png")
    bin_khz = DEFAULT_CONFIG.bin_hz(1) / 1000
    assert drawn["rows"] == 32  # 0.5 kHz of 15.6 Hz bins
    # Row i spans bin i's centre +- half a bin: bin 0 centred on 0 Hz, the top row on 31 bins' frequency.
    assert drawn["extent"][2:] == pytest.approx((-bin_khz / 2, 31.5 * bin_khz))
