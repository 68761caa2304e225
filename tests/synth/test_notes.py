"""Note names <-> MIDI note numbers."""

from __future__ import annotations

import pytest

from synth.errors import InputError
from synth.notes import note_name, parse_note


def test_names_and_numbers_read_as_midi_notes():
    assert parse_note("C4") == 60 and parse_note("A4") == 69 and parse_note("c#4") == 61
    assert parse_note("Bb2") == 46 and parse_note("C-1") == 0 and parse_note("B#3") == 60
    assert parse_note("60") == 60 and parse_note("60.5") == 60.5


def test_every_printed_name_reads_back_as_its_note():
    assert [parse_note(note_name(m)) for m in range(128)] == list(range(128))
    assert note_name(46) == "A#2"


@pytest.mark.parametrize("text", ["H4", "C", "C#", "4C", "nan", "inf", "", "C4+"])
def test_anything_else_is_refused_with_what_was_expected(text):
    with pytest.raises(InputError, match="is not a note: expected a name such as C4"):
        parse_note(text)
