"""Several notes one after another: what a patch cannot play, said plainly, with how to match one of them.

The synth plays one note per sound (one note-on, one gate). A recording of a melody, an arpeggio or a riff is
something people bring all the same, and ``inverse predict`` then answers with patches that blur its notes into one
(the ranking finds the sound closest on average): without a word, the answer looks broken. This module reads the
notes a target holds one after another from its pitch track (CREPE's loud periodic frames,
:func:`synth.pitch.pitch_track`): a *held note* is a run of frames, each within :data:`RUN_CENTS` of the run's
first frames, lasting at least :data:`MIN_NOTE_S` and drifting at most :data:`MAX_DRIFT_CENTS`; a target *steps
through notes* when two consecutive held notes are a step apart that is not a whole number of octaves (consecutive
runs less than :data:`MIN_STEP_CENTS` apart are one note). Where it does, :func:`melody_note` says so and names the
``--start`` and ``--length`` that keep the first (:func:`inverse.target.load_any_target` silences the rest), and
``--each-note`` answers every note from its part of the file (:func:`note_parts`).

A glide's runs drift, a vibrato's swing around their middle within :data:`RUN_CENTS` or are too short, and a
tracker's octave slip in a note's attack or tail is no step, so none of those is a melody
(``benchmarks/results/melody_notes/``: none of 40 single notes and 20 espeak-ng phrases). A patch whose LFO or pitch
envelope moves its pitch in steps reads as one (8 of 300 held-out patches): the note says "may".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from synth.notes import note_name
from synth.pitch import SAMPLE_RATE, PitchConfig, pitch_track

#: A run's frames are within this many cents of the median of its first :data:`ANCHOR_FRAMES` frames.
RUN_CENTS = 50.0
ANCHOR_FRAMES = 3
#: A run lasts at least this long (seconds) to count as a held note.
MIN_NOTE_S = 0.15
#: A held note's pitch drifts at most this many cents from its first frame to its last (its least-squares line):
#: a glide's runs drift by about :data:`RUN_CENTS` each, a vibrato's swings cancel.
MAX_DRIFT_CENTS = 25.0
#: Frames further apart than this (seconds: an unvoiced gap) end a run.
MAX_GAP_S = 0.05
#: Consecutive held notes at least this far apart (cents) are a step of a melody.
MIN_STEP_CENTS = 80.0
#: Seconds between pitch-track frames (:attr:`PitchConfig.hop` at 16 kHz): a note's part of the file ends half of one
#: before the next note's first frame (:func:`note_parts`).
FRAME_S = PitchConfig.hop / SAMPLE_RATE
#: Held notes listed in the note at most.
LISTED = 6


@dataclass(frozen=True)
class HeldNote:
    """A run of steady pitch: ``note`` (MIDI, fractional: the run's median), from ``start_s`` to ``end_s`` (seconds
    into the analysed audio: its first and last frame centres)."""

    note: float
    start_s: float
    end_s: float

    @property
    def name(self) -> str:
        """Scientific pitch name of the nearest note (:func:`note_name`)."""
        return note_name(round(self.note))


def held_notes(audio: torch.Tensor, config: PitchConfig | None = None) -> list[HeldNote]:
    """The held notes of ``audio`` ``Tensor[N]`` (16 kHz) in time order (see the module docstring); consecutive runs
    less than :data:`MIN_STEP_CENTS` apart are joined into one (a note the tracker wavered on)."""
    config = config or PitchConfig()
    t, f0 = pitch_track(audio, config)
    if t.numel() == 0:
        return []
    cents = 1200.0 * torch.log2(f0.double() / 440.0)
    runs: list[list[int]] = [[0]]
    for k in range(1, t.numel()):
        run = runs[-1]
        anchor = float(cents[run[:ANCHOR_FRAMES]].median())
        if float(t[k] - t[run[-1]]) <= MAX_GAP_S + 1e-9 and abs(float(cents[k]) - anchor) <= RUN_CENTS:
            run.append(k)
        else:
            runs.append([k])
    # the track's frame step: config.hop, or less for a short sound (frames may be missing from the track)
    hop_s = min(float(torch.diff(t).min()) if t.numel() > 1 else math.inf, config.hop / SAMPLE_RATE)
    notes: list[HeldNote] = []
    for run in runs:
        start, end = float(t[run[0]]), float(t[run[-1]])
        if end - start + hop_s < MIN_NOTE_S or _drift(t[run].double(), cents[run]) > MAX_DRIFT_CENTS:
            continue
        note = 69.0 + float(cents[run].median()) / 100.0
        if notes and abs(note - notes[-1].note) * 100.0 < MIN_STEP_CENTS:
            last = notes[-1]
            notes[-1] = HeldNote((last.note + note) / 2.0, last.start_s, end)
        else:
            notes.append(HeldNote(note, start, end))
    return notes


def _drift(t: torch.Tensor, cents: torch.Tensor) -> float:
    """How far (cents) the least-squares line through a run's ``(t, cents)`` moves over the run."""
    centred = t - t.mean()
    denominator = float(centred.square().sum())
    slope = float((centred * (cents - cents.mean())).sum()) / denominator if denominator > 0 else 0.0
    return abs(slope) * float(t[-1] - t[0])


def steps_through_notes(notes: list[HeldNote]) -> bool:
    """Whether ``notes`` (:func:`held_notes`) are a melody's: at least one step between consecutive notes that is not
    a whole number of octaves (within :data:`RUN_CENTS`: the tracker's octave slips in a note's attack or tail)."""
    for before, after in zip(notes, notes[1:]):
        interval = abs(after.note - before.note) * 100.0
        if abs(interval - 1200.0 * round(interval / 1200.0)) > RUN_CENTS:
            return True
    return False


def note_parts(notes: list[HeldNote]) -> list[tuple[float, float | None]]:
    """Where each of ``notes`` (:func:`held_notes`) lies in the analysed audio, as ``(start, length)`` seconds: the
    first from 0 (the tracker may hear a note's attack late), each from half a frame before its first frame and up to
    half a frame before the next note's; the last to the end (``length`` None: its release kept)."""
    parts = []
    for k, n in enumerate(notes):
        begin = 0.0 if k == 0 else max(0.0, n.start_s - FRAME_S / 2)
        end = notes[k + 1].start_s - FRAME_S / 2 if k + 1 < len(notes) else None
        parts.append((begin, None if end is None else max(end - begin, FRAME_S)))
    return parts


def melody_phrase(notes: list[HeldNote]) -> str:
    """``notes`` (:func:`held_notes`) as phrase text (:func:`synth.phrase.parse_phrase`) at 60 bpm, a beat a second:
    each note named by its nearest semitone, from half a frame before its first frame to half a frame after its last,
    with rests between, the phrase's 0 where the analysed audio begins. ``python -m synth play PATCH --bpm 60 --notes
    TEXT`` plays a candidate as the target's melody."""
    events, at = [], 0.0
    for held in notes:
        begin, end = max(at, held.start_s - FRAME_S / 2), held.end_s + FRAME_S / 2
        if begin - at >= 0.005:
            events.append(f"-:{begin - at:.3f}")
        events.append(f"{held.name}:{end - begin:.3f}")
        at = end
    return " ".join(events)


def melody_note(notes: list[HeldNote], name: str, start_s: float | None = 0.0) -> str | None:
    """The note for a target whose pitch steps through ``notes`` (:func:`held_notes`; None where it does not): which
    notes, from when, and with ``start_s`` (where the analysed audio begins in its file; None: a spectrogram, which
    cannot be cut) the ``--start`` / ``--length`` that keep the first of them alone (:func:`note_parts`), and
    ``--each-note``."""
    if not steps_through_notes(notes):
        return None
    listed = ", ".join(f"{n.name} at {n.start_s:.2f} s" for n in notes[:LISTED])
    more = f" and {len(notes) - LISTED} more" if len(notes) > LISTED else ""
    text = (f"{name}: its pitch steps through {len(notes)} held notes one after another ({listed}{more}); a patch "
            f"plays one note, moved only by its LFOs and pitch envelope, so the candidates may match only part of it")
    if start_s is None:
        return text
    begin, length = note_parts(notes)[0]
    return (f"{text}. To match one note alone, keep its part of the file, e.g. the first: --start "
            f"{start_s + begin:.2f} --length {length:.2f} (--each-note answers each)")


def replayed(phrase: str, patches: list[torch.Tensor | None]) -> torch.Tensor:
    """The melody ``phrase`` (:func:`melody_phrase`) played back with its k-th note played by ``patches[k]``
    (normalised ``Tensor[100]``, the best candidate of that note's answer; None: the note left out), each placed by
    the pitch its patch is heard at (:func:`synth.phrase.play_notes`): ``Tensor[N]`` at 16 kHz, scaled to full scale
    where overlapping notes peak above it."""
    from synth.phrase import parse_phrase, play_notes, timed

    notes = timed(parse_phrase(phrase), 60.0)
    parts = [play_notes(patch, [held]).audio for held, patch in zip(notes, patches) if patch is not None]
    audio = torch.zeros(max((len(part) for part in parts), default=1))
    for part in parts:
        audio[:len(part)] += part
    peak = float(audio.abs().max())
    return audio / peak if peak > 1.0 else audio
