"""Several sounds one after another with silence between them: said plainly, with how to match one of them.

A patch starts once: one note-on, one gate. A drum loop, a phrase of speech or a run of staccato notes is something
people bring all the same, and ``inverse predict`` then answers with one sound spread over all of them (a loop of a
kick and a snare came back as quiet hums and noise that sound through the whole loop). :mod:`inverse.melody` says so
where the *pitch* steps through held notes; this module does it where the *level* does: the target's 10 ms frames
(RMS) that sound (within :data:`SILENCE_DB` of its loudest frame) make runs, runs less than :data:`MIN_GAP_S` apart
are one part, and a part counts where its loudest frame is within :data:`PART_DB` of the loudest (a faint click in a
gap is no part). Two or more parts: :func:`parts_note` names them and the ``--start`` and ``--length`` that keep one,
and ``--each-note`` answers each from its span of the file (:func:`part_spans`).

The synth's delay repeats a note with silence between the echoes, and a square-wave tremolo can gate it, so a patch
can sound like this too: the note says the answer may be one note repeated, not that it is wrong
(``benchmarks/results/separate_parts/`` counts how often each kind of sound reads as several parts).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from inverse.onset import frame_levels
from synth.spectrogram import DEFAULT_CONFIG

FRAME = 160  # samples per level frame (10 ms at 16 kHz)
SAMPLE_RATE = DEFAULT_CONFIG.sample_rate
WINDOW_S = DEFAULT_CONFIG.num_samples / SAMPLE_RATE  # the 4.088 s a target is read as
#: A frame sounds where its level is within this many dB of the loudest frame's.
SILENCE_DB = 45.0
#: Sounding runs closer than this (seconds of silence between them) are one part.
MIN_GAP_S = 0.06
#: A part's loudest frame is within this many dB of the loudest frame (fainter runs are not parts).
PART_DB = 25.0


@dataclass(frozen=True)
class Part:
    """One sounding part of a target: from ``start_s`` to ``end_s`` (seconds into the window)."""

    start_s: float
    end_s: float


def sounding_parts(audio: torch.Tensor) -> list[Part]:
    """The parts of ``audio`` ``Tensor[N]`` (16 kHz) separated by silence (see the module's description), in order;
    [] for silence."""
    level = frame_levels(audio, FRAME)
    loudest = float(level.max()) if level.numel() else -200.0
    if loudest < -80.0:
        return []
    sounding = (level > loudest - SILENCE_DB).tolist()
    runs: list[list[int]] = []  # [first frame, last frame] of each run, gaps under MIN_GAP_S merged
    gap_frames = round(MIN_GAP_S * SAMPLE_RATE / FRAME)
    for k, on in enumerate(sounding):
        if not on:
            continue
        if runs and k - runs[-1][1] - 1 < gap_frames:
            runs[-1][1] = k
        else:
            runs.append([k, k])
    seconds = FRAME / SAMPLE_RATE
    return [Part(first * seconds, (last + 1) * seconds) for first, last in runs
            if float(level[first: last + 1].max()) >= loudest - PART_DB]


def part_spans(parts: list[Part]) -> list[tuple[float, float]]:
    """Where each of ``parts`` (:func:`sounding_parts` of a target's window) is matched alone, as ``(start, length)``
    seconds into the window: each from its start up to the next part's (its tail through the silence kept), the last
    up to the window's end (what follows in the file was not read)."""
    ends = [p.start_s for p in parts[1:]] + [WINDOW_S]
    return [(p.start_s, end - p.start_s) for p, end in zip(parts, ends)]


def parts_note(name: str, parts: list[Part], start_s: float) -> str | None:
    """The note for a target of several ``parts`` (None for fewer than two): where each starts in the file (the
    window began ``start_s`` seconds into it) and the ``--start``/``--length`` that keep the first."""
    if len(parts) < 2:
        return None
    shown = [f"{start_s + p.start_s:.2f}" for p in parts[:6]] + (["..."] if len(parts) > 6 else [])
    begin, length = part_spans(parts)[0]
    return (f"{name}: its sound comes in {len(parts)} parts with silence between them (at {', '.join(shown)} s): a "
            f"patch plays one note (its delay may repeat it), so the answer may blur them; to match the first alone: "
            f"--start {start_s + begin:.2f} --length {length:.2f} (--each-note answers each)")
