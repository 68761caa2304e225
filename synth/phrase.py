"""A patch played as a phrase: notes, chords and rests at a tempo (or a MIDI file's notes), mixed into one recording.

A match is one note; a sound designer wants to hear the patch as an instrument (does it hold up an octave higher,
in a chord, at another length?). :func:`play` (phrase text) and :func:`play_notes` (timed notes: a MIDI file's,
:mod:`synth.midi_file`) render the patch once per note, with ``note_pitch`` moved so that
the note *sounds* at the pitch asked for and ``note_gate`` set to the note's length (the key released when the note
ends), and adds each render at its onset; the release tails ring on over what follows, as on a keyboard.

"Sounds at": a patch's pitch is ``note_pitch`` plus its oscillators' octave and semitone offsets and fine tuning
(and a match moves ``note_pitch`` by a fraction of a semitone to hit the target's tuning), so the notes are placed by
the pitch the patch is heard at: :func:`sounding_offset` renders it and reads its pitch (CREPE,
:func:`synth.pitch.estimate_pitch`); a note ``n`` is then played with ``note_pitch = n - offset``. A patch without
one clear pitch (a chord, a drum whose pitch drops) is placed by its lowest oscillator instead (the root of a chord
in root position, the body of a drum), and one without oscillators (noise) or every patch with ``read_pitch=False``
with ``note_pitch = n``. :attr:`Phrase.placed_by` says which.

Phrase text (:func:`parse_phrase`): space-separated events, each ``NOTE[:BEATS]`` (``C4``, ``F#3:2``, ``60:0.5``; one
beat by default), a chord ``C4+E4+G4[:BEATS]``, or a rest ``-[:BEATS]``; ``BEATS`` a number or a fraction (``1/3``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from fractions import Fraction

import torch
from torch import Tensor

from synth.errors import InputError, positive_float
from synth.notes import note_name, parse_note
from synth.params import PARAM_NAMES, PARAM_SPECS, from_physical, physical_dict, to_physical
from synth.spectrogram import DEFAULT_CONFIG
from synth.symmetry import SLOT_NAMES

PITCH = PARAM_NAMES.index("note_pitch")
GATE = PARAM_NAMES.index("note_gate")
VELOCITY = PARAM_NAMES.index("note_velocity")
#: Renders per batch: memory stays flat in the number of notes (a row is 65,408 samples).
BATCH_ROWS = 64
#: The note_pitch values a patch's own pitch is read at (F2 .. C#4; CREPE's range is C1 .. B6).
READ_AT = (41.0, 46.0, 51.0, 56.0, 61.0)
#: Trailing samples below this (-80 dBFS) are cut from the end of the phrase.
SILENCE = 1e-4
#: The longest phrase (seconds, its last note's render included): ten minutes of 16 kHz audio, 38 MB.
MAX_SECONDS = 600.0


@dataclass(frozen=True)
class PhraseEvent:
    """One step of a phrase: ``notes`` sounding MIDI notes (several: a chord; none: a rest), ``beats`` long."""

    notes: tuple[float, ...]
    beats: float


@dataclass(frozen=True)
class TimedNote:
    """A note to play: MIDI ``note`` (sounding; fractional: between the semitones) from ``onset_s`` seconds, held
    ``length_s`` seconds, with the patch's ``note_velocity`` (None) or ``velocity`` (0-1) instead."""

    onset_s: float
    note: float
    length_s: float
    velocity: float | None = None


@dataclass(frozen=True)
class PlayedNote:
    """One rendered note: it starts at ``onset_s`` seconds, sounds at MIDI ``note``, with the patch's
    ``note_pitch`` (MIDI), ``gate_s`` (seconds, its ``note_gate``) and ``velocity`` (its ``note_velocity``, 0-1)."""

    onset_s: float
    note: float
    note_pitch: float
    gate_s: float
    velocity: float

    def to_json(self) -> dict:
        return {"onset_s": round(self.onset_s, 6), "note": self.note, "name": note_label(self.note),
                "note_pitch": round(self.note_pitch, 4), "gate_s": round(self.gate_s, 6),
                "velocity": round(self.velocity, 4)}


@dataclass
class Phrase:
    """The phrase as one recording: ``audio`` ``Tensor[N]`` float32 at 16 kHz within [-1, 1], the notes played,
    ``offset`` (semitones from ``note_pitch`` to the pitch a note is placed by), ``placed_by`` (that pitch:
    ``"heard"`` the patch's pitch, ``"lowest oscillator"`` where it has no one clear pitch, ``"note_pitch"``: offset
    0, notes set ``note_pitch`` directly), ``gain_db`` (the mix scaled down by this where overlapping notes peaked
    above full scale, else 0) and ``messages`` for the user."""

    audio: Tensor
    notes: list[PlayedNote]
    offset: float
    placed_by: str
    gain_db: float = 0.0
    messages: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.audio.shape[-1] / DEFAULT_CONFIG.sample_rate


def note_label(note: float) -> str:
    """``C4``, or ``C4+30c`` for a note between the semitones."""
    nearest = round(note)
    cents = round(100 * (note - nearest))
    return note_name(nearest) + (f"{cents:+d}c" if cents else "")


def _beats(text: str, event: str) -> float:
    try:
        beats = float(Fraction(text))
    except (ValueError, ZeroDivisionError, OverflowError):
        beats = math.nan
    if not (math.isfinite(beats) and beats > 0):
        raise InputError(f"phrase event {event!r}: {text!r} is not a length in beats (expected a positive number or "
                         "fraction, e.g. 2, 0.5 or 1/3)")
    return beats


def parse_phrase(text: str) -> list[PhraseEvent]:
    """The events of phrase ``text`` (see the module docstring); an :class:`InputError` names the event that is
    not one."""
    events = []
    for event in text.split():
        notes, colon, beats = event.partition(":")
        if colon and not beats:
            raise InputError(f"phrase event {event!r}: nothing after ':' (expected its length in beats, e.g. C4:2)")
        pitches = () if notes in ("-", "r", "R") else tuple(parse_note(n) for n in notes.split("+"))
        events.append(PhraseEvent(pitches, _beats(beats, event) if beats else 1.0))
    if not any(e.notes for e in events):
        raise InputError(f"the phrase {text.strip()!r} has no notes: expected events such as 'C4 E4 G4:2' "
                         "(NOTE[:BEATS], chords C4+E4+G4, rests -)")
    return events


@torch.no_grad()
def sounding_offset(normalized: Tensor, path: str = "auto") -> float | None:
    """Semitones from patch ``normalized`` ``Tensor[100]``'s ``note_pitch`` to the pitch it is heard at, or None where
    it has no clear pitch.

    Heard: the median over the notes :data:`READ_AT` (``note_pitch`` moved there, where the tracker reads well
    whatever note the patch was made at) of the pitch read (:func:`synth.pitch.estimate_pitch`) less the note, where
    most of them have a clear pitch (one note alone is not enough: CREPE reads a sawtooth at C5 an octave high). CREPE
    is a few cents off (up to ~15 on a sawtooth), so where an oscillator that sounds is tuned within a quarter tone of
    that, the offset is that oscillator's tuning exactly (:func:`tunings`)."""
    from synth import render
    from synth.pitch import estimate_pitch

    rows = normalized.float().repeat(len(READ_AT), 1)
    rows[:, PITCH] = torch.tensor([from_physical(PARAM_SPECS[PITCH], n) for n in READ_AT])
    estimate = estimate_pitch(render(rows, path=path))
    heard = 69.0 + 12.0 * torch.log2(estimate.f0_hz.double() / 440.0) - torch.tensor(READ_AT, dtype=torch.float64)
    if 2 * int(estimate.clear.sum()) <= len(READ_AT):
        return None
    read = float(heard[estimate.clear].median())
    nearest = min(tunings(normalized), key=lambda tuned: abs(tuned - read), default=math.inf)
    return nearest if abs(nearest - read) <= 0.5 else read


def tunings(normalized: Tensor) -> list[float]:
    """Semitones from patch ``normalized`` ``Tensor[100]``'s ``note_pitch`` to each of its oscillators that has a level
    (octave and semitone offsets, fine tuning) and to its sub-oscillator (one or two octaves under the note)."""
    v = physical_dict(normalized)
    offsets = [12.0 * v[f"{slot}_octave"] + v[f"{slot}_semitone"] + v[f"{slot}_fine"] / 100.0
               for slot in SLOT_NAMES if v[f"{slot}_level"] > 0.0]
    return offsets + [12.0 * v["sub_octave"]] * (v["sub_level"] > 0.0)


def timed(events: list[PhraseEvent], bpm: float = 120.0) -> list[TimedNote]:
    """The notes of ``events`` at ``bpm`` beats per minute, each held for its event's length."""
    positive_float.check(bpm, "bpm")
    beat_s, onset_beats, notes = 60.0 / bpm, Fraction(0), []
    for event in events:
        notes += [TimedNote(float(onset_beats) * beat_s, note, event.beats * beat_s) for note in event.notes]
        onset_beats += Fraction(event.beats)
    return notes


def midi_notes(path: str | os.PathLike, velocity: bool = False) -> list[TimedNote]:
    """The notes of the MIDI file at ``path`` (:func:`synth.midi_file.read_midi`), with each one's velocity
    (``velocity / 127``) where ``velocity``, else the patch's."""
    from synth.midi_file import read_midi

    return [TimedNote(n.onset_s, float(n.note), n.length_s, n.velocity / 127 if velocity else None)
            for n in read_midi(path)]


def _placed(notes: list[TimedNote], offset: float, velocity: float) -> tuple[list[PlayedNote], list[str]]:
    """``notes`` with the ``note_pitch`` that places each (``note - offset``), its gate and velocity (the patch's,
    ``velocity``, where a note has none), or an :class:`InputError` listing those the synth cannot play."""
    pitch, gate = PARAM_SPECS[PITCH], PARAM_SPECS[GATE]
    played = [PlayedNote(n.onset_s, n.note, n.note - offset, min(gate.high, max(gate.low, n.length_s)),
                         velocity if n.velocity is None else min(1.0, max(0.0, n.velocity))) for n in notes]
    outside = sorted({n.note for n in played if not pitch.low <= n.note_pitch <= pitch.high})
    if outside:
        low, high = pitch.low + offset, pitch.high + offset
        raise InputError(f"this patch cannot play {', '.join(note_label(n) for n in outside)}: it sounds "
                         f"{offset:+.2f} semitones from its note_pitch, which goes from {pitch.low:g} to "
                         f"{pitch.high:g}, so its notes go from {note_label(low)} to {note_label(high)}")
    long = sum(n.length_s > gate.high for n in notes)
    return played, [f"{long} note(s) longer than {gate.high:g} s (the synth's longest note_gate) are held for "
                    f"{gate.high:g} s"] if long else []


def placement(normalized: Tensor, read_pitch: bool = True, path: str = "auto") -> tuple[float, str, list[str]]:
    """How patch ``normalized`` ``Tensor[100]`` places a note (see the module docstring): the offset in semitones
    (a note ``n`` is played with ``note_pitch = n - offset``), what it is from (:attr:`Phrase.placed_by`) and the
    message that says so (none with ``read_pitch=False``)."""
    if not read_pitch:
        return 0.0, "note_pitch", []
    offset, placed_by = 0.0, "note_pitch"
    heard, oscillators = sounding_offset(normalized, path), tunings(normalized)
    if heard is not None:
        offset, placed_by = heard, "heard"
    elif oscillators:
        offset, placed_by = min(oscillators), "lowest oscillator"
    own = to_physical(PARAM_SPECS[PITCH], float(normalized[PITCH]))
    moved = "each note is played with note_pitch at it" if abs(offset) < 0.005 else \
        f"each note is played with a note_pitch {abs(offset):.2f} semitones {'below' if offset > 0 else 'above'} it"
    message = {
        "heard": f"the patch sounds at {note_label(own + offset)} with note_pitch {own:.2f}: {moved}, so that it "
                 "sounds at the pitch written",
        "lowest oscillator": f"the patch has no one clear pitch (a chord, a drum): its lowest oscillator is at "
                             f"{note_label(own + offset)} with note_pitch {own:.2f}; {moved}, so that that "
                             "oscillator is at the pitch written",
        "note_pitch": "the patch has no clear pitch and no oscillator: each note sets its note_pitch directly "
                      "(C4 = 60)"}[placed_by]
    return offset, placed_by, [message]


def play(normalized: Tensor, events: list[PhraseEvent], bpm: float = 120.0, *, read_pitch: bool = True,
         path: str = "auto") -> Phrase:
    """Patch ``normalized`` ``Tensor[100]`` (in [0, 1]) played as ``events`` at ``bpm`` beats per minute (see the
    module docstring; :func:`play_notes`)."""
    return play_notes(normalized, timed(events, bpm), read_pitch=read_pitch, path=path)


@torch.no_grad()
def play_notes(normalized: Tensor, notes: list[TimedNote], *, read_pitch: bool = True, path: str = "auto") -> Phrase:
    """Patch ``normalized`` ``Tensor[100]`` (in [0, 1]) playing ``notes`` (a phrase's, :func:`timed`, or a MIDI
    file's, :func:`synth.midi_file.read_midi`), each placed by the pitch the patch is heard at (see the module
    docstring); renders on ``path`` (:func:`synth.render`) :data:`BATCH_ROWS` notes at a time."""
    from synth import render

    if not notes:
        raise InputError("nothing to play: no notes")
    if not all(math.isfinite(n.onset_s) and math.isfinite(n.length_s) and n.onset_s >= 0 for n in notes):
        raise InputError("a note without a finite onset and length (seconds; the onset 0 or later)")
    rate, length = DEFAULT_CONFIG.sample_rate, DEFAULT_CONFIG.num_samples
    end_s = max(n.onset_s for n in notes) + length / rate
    if end_s > MAX_SECONDS:
        raise InputError(f"the notes last {end_s:.4g} s (the last one's {length / rate:.3f} s render included); at "
                         f"most {MAX_SECONDS:.0f} s are played")
    onsets = [round(n.onset_s * rate) for n in notes]
    normalized = normalized.detach().float().reshape(-1)
    offset, placed_by, messages = placement(normalized, read_pitch, path)
    played, level_messages = _placed(notes, offset, to_physical(PARAM_SPECS[VELOCITY], float(normalized[VELOCITY])))
    audio = torch.zeros(max(onsets) + length)
    for first in range(0, len(played), BATCH_ROWS):
        batch = played[first:first + BATCH_ROWS]
        rows = normalized.repeat(len(batch), 1)
        rows[:, PITCH] = torch.tensor([from_physical(PARAM_SPECS[PITCH], n.note_pitch) for n in batch])
        rows[:, GATE] = torch.tensor([from_physical(PARAM_SPECS[GATE], n.gate_s) for n in batch])
        rows[:, VELOCITY] = torch.tensor([from_physical(PARAM_SPECS[VELOCITY], n.velocity) for n in batch])
        for row, onset in zip(render(rows, path=path), onsets[first:first + BATCH_ROWS]):
            audio[onset:onset + length] += row
    sounding = torch.nonzero(audio.abs() >= SILENCE)
    audio = audio[:int(sounding[-1]) + 1] if len(sounding) else audio[:max(onsets) + 1]
    peak, gain_db = float(audio.abs().max()), 0.0
    if peak > 1.0:
        audio, gain_db = audio / peak, -20.0 * math.log10(peak)
        level_messages.append(f"the overlapping notes peaked at {-gain_db:+.1f} dBFS: the phrase is scaled down by "
                             f"{-gain_db:.1f} dB to full scale")
    return Phrase(audio, played, offset, placed_by, gain_db, messages + level_messages)
