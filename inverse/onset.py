"""Where the sound of a recording begins: the lead-in an audio target is read past.

Every patch the synth renders starts at its note-on, at 0 s. A recording whose note starts later (a sample exported
with a pause before it, a take with room tone before the note) can never be matched from its first sample: on 24
sox, fluidsynth and espeak-ng sounds after a lead-in of 0.15-1 s, ``inverse predict``'s best of ten was 33 %
further from the sound than when the same file began with it (``benchmarks/results/onset_alignment/``). So
:func:`lead_in` finds such a lead-in, and :func:`inverse.target.load_any_target` reads the file again from where
the sound rises (``--no-align`` keeps it): then 0.9 % (-2.2 .. +3.5 %) from the answer on time.

A lead-in is what comes before a sharp rise out of silence or steady noise, in 8 ms frames (mean square in dB):

- the rise is the first frame within :data:`BELOW_PEAK_DB` of the loudest frame's level *and* at least
  :data:`ABOVE_FLOOR_DB` above the median of the first :data:`FLOOR_FRAMES` frames (the floor);
- everything before it is at least :data:`QUIET_DB` below the loudest frame, and within
  :data:`JUMP_FRAMES` frames of the rise the sound reaches :data:`JUMP_DB` above all of it: a sound that
  swells out of its own quiet start (a slow attack or filter sweep) is not a lead-in;
- the lead-in is silence (:data:`SILENT_DB` below the loudest frame), or steady noise (within :data:`STEADY_DB`
  of the floor) that the sound leaves at once (from its first frame above the floor to the rise in at most
  :data:`EMERGE_FRAMES` frames): a quiet sound that drifts up before a jump is the sound's own start;
- the lead-in ends :data:`PREROLL_FRAMES` frames before the rise's first frame above :data:`RISE_DB` over
  the floor: the rise is kept whole;
- a click or pop in the lead-in (a run of at most :data:`CLICK_FRAMES` frames above the floor with at least
  :data:`CLICK_GAP_FRAMES` at the floor after it: a recording's start, an edit) is part of it (:func:`clicks`):
  the sound after it is the one to match. Without that, a one-sample click 0.5 s before a note was taken for the
  sound's start, and the note was matched half a second late.

Where the recording has a steady noise floor (:mod:`inverse.noise_floor`) and no lead-in is found so,
:func:`inverse.target.load_any_target` looks again with the floor's own limit (20 dB below the loudest frame instead
of 30), then in the audio with the floor gated out: a note rising out of hiss 20-30 dB below it.

Measured (``python benchmarks/onset_alignment.py``; ``tests/inverse/test_onset.py`` keeps the rule's cases): on
2,048 renders of each of the synth's priors (seed 9) it finds no lead-in; on the first 20 sounds each of sox,
fluidsynth and espeak-ng, as the held-out benchmark makes them, one (16 ms of an espeak-ng phrase's quiet start).
The same 60 sounds (peak -6 dBFS) after a lead-in of 0.125-1 s: after digital silence it finds every onset (at
most 3 ms late); under steady white noise at -70 / -60 / -50 / -40 dBFS it skips the lead-in (to within 0.1 s)
for 60 / 51 / 26 / 6 of the 60 and otherwise leaves it (a soft onset under the noise: ``--start`` sets the start
by hand); read from files by ``load_any_target`` with the floor's second look, 60 / 59 / 48 / 47 (59 / 45 / 29 /
9 without it), at most 2 ms late (``benchmarks/results/held_noise/``).
"""

from __future__ import annotations

import torch

from synth.spectrogram import DEFAULT_CONFIG

HOP = 128  # samples per analysis frame: 8 ms at 16 kHz, the spectrogram's hop
BELOW_PEAK_DB = 50.0  # the rise is at most this far below the loudest frame ...
ABOVE_FLOOR_DB = 20.0  # ... and at least this far above the floor
FLOOR_FRAMES = 6  # the floor: the median level of the first 48 ms
QUIET_DB = 30.0  # a lead-in stays at least this far below the loudest frame
JUMP_DB = 10.0  # and the sound rises this far above all of it ...
JUMP_FRAMES = 3  # ... within 24 ms of the rise
STEADY_DB = 10.0  # a lead-in stays within this of the floor, and the sound rises out of it ...
EMERGE_FRAMES = 6  # ... to the rise within 48 ms, ...
SILENT_DB = 60.0  # ... unless it is this far below the loudest frame (silence, with a click or dither in it)
RISE_DB = 6.0  # the rise begins after the last frame within this of the floor
PREROLL_FRAMES = 2  # frames kept before the rise's first frame: its quiet start (up to ~7 ms measured) kept whole
CLICK_FRAMES = 2  # a click lasts at most this many frames above the floor (16 ms) ...
CLICK_GAP_FRAMES = 6  # ... and is followed by at least this many at it (48 ms) before the next sound
SAMPLE_RATE = DEFAULT_CONFIG.sample_rate
_SILENCE = 1e-20  # mean-square floor inside the log: digital silence reads -200 dB


def frame_levels(audio: torch.Tensor, hop: int = HOP) -> torch.Tensor:
    """Mean square of each whole ``hop``-sample frame of ``audio`` ``Tensor[N]``, in dB: ``Tensor[N // hop]``."""
    frames = audio[: audio.numel() // hop * hop].reshape(-1, hop)
    return 10.0 * torch.log10(frames.double().square().mean(dim=1) + _SILENCE)


def lead_in(audio: torch.Tensor, quiet_db: float = QUIET_DB) -> int:
    """Samples of ``audio`` ``Tensor[N]`` before its sound rises out of a lead-in of silence or steady noise (a
    multiple of :data:`HOP`), or 0 where it has none (the module's docstring has the rule). ``quiet_db``: how far
    below the loudest frame a lead-in stays (:data:`QUIET_DB`; less where the recording is known to have a steady
    noise floor, :mod:`inverse.noise_floor`, which a lead-in of that noise sits on)."""
    read = _levels_and_floor(audio)
    if read is None:
        return 0
    level, floor = read
    for first, end in _click_runs(level, floor):  # a click is the lead-in's, at its floor
        level[first:end] = floor
    top = float(level.max())
    risen = (level >= max(top - BELOW_PEAK_DB, floor + ABOVE_FLOOR_DB)).nonzero()
    rise = int(risen[0]) if risen.numel() else 0
    if rise < 2:
        return 0
    quiet = float(level[:rise].max())
    if quiet > top - quiet_db or float(level[rise: rise + JUMP_FRAMES].max()) < quiet + JUMP_DB:
        return 0
    still = (level[:rise] <= floor + RISE_DB).nonzero()
    first = int(still[-1]) + 1 if still.numel() else 0  # the rise's first frame above the floor
    lead = float(level[:first].max()) if first else floor
    if lead > top - SILENT_DB and (lead > floor + STEADY_DB or rise - first > EMERGE_FRAMES):
        return 0  # not silence, and not steady or not left at once: the sound's own quiet start
    return max(0, first - PREROLL_FRAMES) * HOP


def _levels_and_floor(audio: torch.Tensor) -> tuple[torch.Tensor, float] | None:
    """:func:`frame_levels` of ``audio`` and its floor (the median of the first :data:`FLOOR_FRAMES`); None where it
    is too short to judge."""
    level = frame_levels(audio)
    if level.numel() < FLOOR_FRAMES + JUMP_FRAMES:
        return None
    return level, float(level[:FLOOR_FRAMES].median())


def _click_runs(level: torch.Tensor, floor: float) -> list[tuple[int, int]]:
    """The clicks at the start of ``level`` (frame levels in dB): ``[first, end)`` frames of each run of at most
    :data:`CLICK_FRAMES` frames above ``floor`` + :data:`RISE_DB`, the run and the ones before it each followed by
    at least :data:`CLICK_GAP_FRAMES` frames at the floor."""
    above = (level > floor + RISE_DB).tolist()
    runs, k = [], 0
    while k < len(above):
        first = next((i for i in range(k, len(above)) if above[i]), None)
        if first is None:
            break
        end = next((i for i in range(first, len(above)) if not above[i]), len(above))
        gap = above[end: end + CLICK_GAP_FRAMES]
        if end - first > CLICK_FRAMES or len(gap) < CLICK_GAP_FRAMES or any(gap):
            break
        runs.append((first, end))
        k = end
    return runs


def clicks(audio: torch.Tensor, before: int) -> list[float]:
    """Where (seconds) the clicks that :func:`lead_in` counts as part of ``audio``'s lead-in begin, those in its first
    ``before`` samples (the lead-in skipped)."""
    read = _levels_and_floor(audio)
    runs = [] if read is None else _click_runs(*read)
    return [first * HOP / SAMPLE_RATE for first, _ in runs if first * HOP < before]
