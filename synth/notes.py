"""Note names and MIDI note numbers: ``C4`` = 60, ``A4`` = 69 = 440 Hz (scientific pitch notation).

One definition for the names the tools print (the held notes of a melody, :mod:`inverse.melody`) and the names a user
writes (the notes of a phrase, :mod:`synth.phrase`).
"""

from __future__ import annotations

import math
import re

from synth.errors import InputError

NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAME = re.compile(r"([A-Ga-g])([#b]?)(-?\d+)")


def note_name(midi: int) -> str:
    """Scientific pitch name of MIDI note ``midi`` (``C4`` = 60, ``A#2`` = 46)."""
    return f"{NAMES[midi % 12]}{midi // 12 - 1}"


def parse_note(text: str) -> float:
    """The MIDI note number of ``text``: a name (``C4``, ``f#3``, ``Bb2``, ``C-1`` = 0) or a number (``60``, or
    ``60.5`` for a quarter tone above C4). Anything else is an :class:`InputError` that says what was expected."""
    match = _NAME.fullmatch(text)
    if match:
        letter, accidental, octave = match.groups()
        return float(_STEPS[letter.upper()] + {"": 0, "#": 1, "b": -1}[accidental] + 12 * (int(octave) + 1))
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise InputError(f"{text!r} is not a note: expected a name such as C4, F#3 or Bb2 (C4 = 60, A4 = 440 Hz) "
                         "or a MIDI note number such as 60")
    return number
