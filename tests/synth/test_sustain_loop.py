"""Sustain loops: found where a held note has settled, none where it decays or is silent, and the jump back
inaudible (no step in the waveform, no dip in the level) for a tone with tremolo and for noise."""

from __future__ import annotations

import numpy as np
import pytest

from synth.sustain_loop import LOOP_END_S, MAX_LOOP_S, MIN_LOOP_S, find_loop, with_loop

RATE = 48000


def held(signal: np.ndarray) -> np.ndarray:
    """``signal`` as a held note: a 20 ms attack, 4.088 s long."""
    ramp = np.minimum(1.0, np.arange(signal.size) / (0.02 * RATE))
    return signal * ramp


def played(audio: np.ndarray, loop, times: int = 3) -> np.ndarray:
    """What a sampler plays while the key is held: up to the loop's end, then the loop ``times`` more."""
    return np.concatenate([audio[:loop.end]] + [audio[loop.start:loop.end]] * times)


def frame_levels(x: np.ndarray, start: int, stop: int) -> np.ndarray:
    frames = x[start:stop][:(stop - start) // 480 * 480].reshape(-1, 480)  # 10 ms
    return 10 * np.log10((frames ** 2).mean(axis=1))


t = np.arange(round(4.088 * RATE)) / RATE


def test_a_tone_with_tremolo_loops_whole_cycles_and_jumps_back_without_a_step():
    tone = held(0.5 * np.sin(2 * np.pi * 220.0 * t) * (1.0 + 0.3 * np.sin(2 * np.pi * 2.5 * t)))
    loop = find_loop(tone, RATE)
    assert loop is not None and loop.end == round(LOOP_END_S * RATE) and loop.correlation > 0.99
    length = (loop.end - loop.start) / RATE
    assert MIN_LOOP_S <= length <= MAX_LOOP_S
    assert abs(length * 2.5 - round(length * 2.5)) < 0.1 and round(length * 2.5) >= 1  # ~whole tremolo cycles
    out = with_loop(tone, loop, RATE)
    assert np.array_equal(out[:loop.end - round(0.05 * RATE)], tone[:loop.end - round(0.05 * RATE)])
    heard = played(out, loop)
    steps = np.abs(np.diff(heard[loop.end - 2000:loop.end + 2000]))
    assert steps.max() <= 1.05 * np.abs(np.diff(tone[loop.end - 2000:loop.end])).max()  # no click at the jump


def test_noise_loops_without_a_dip_in_its_level():
    noise = held(0.2 * np.random.default_rng(0).standard_normal(t.size))
    loop = find_loop(noise, RATE)
    assert loop is not None and loop.correlation < 0.5  # nothing alike: an equal-power crossfade
    heard = played(with_loop(noise, loop, RATE), loop)
    around = frame_levels(heard, loop.end - round(0.2 * RATE), loop.end + round(0.2 * RATE))
    assert np.abs(around - frame_levels(noise, round(2.0 * RATE), round(2.4 * RATE)).mean()).max() < 1.5


@pytest.mark.parametrize("note", ["decaying", "silent", "short"])
def test_a_note_that_has_not_settled_or_is_silent_gets_no_loop(note):
    tone = np.sin(2 * np.pi * 220.0 * t)
    audio = {"decaying": tone * np.exp(-t / 0.8), "silent": 1e-5 * tone, "short": tone[:round(3.0 * RATE)]}[note]
    assert find_loop(audio, RATE) is None
