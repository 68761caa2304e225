"""The notes of a Standard MIDI File: when each starts, how long it is held, which note (for :mod:`synth.phrase`).

Formats 0 and 1 (one track, or several played together), ticks per quarter note with the file's tempo changes (120
bpm until the first), running status, a note-on of velocity 0 as a note-off, the same note struck again before its
release ending the earlier one. Program changes, controllers, pitch bend, system-exclusive and meta events other than
tempo are read past. A file that is not one (or SMPTE-timed, or format 2) is an :class:`InputError` saying what was
expected; nothing is run or unpickled, the bytes are only parsed.
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass

from synth.errors import InputError

#: The largest file read (a long piece is a few hundred kB).
MAX_BYTES = 16_000_000
DEFAULT_TEMPO = 500_000  # microseconds per quarter note: 120 bpm


@dataclass(frozen=True)
class MidiNote:
    """A note of the file: MIDI ``note`` struck at ``onset_s`` seconds, held ``length_s``, with ``velocity``
    (1-127) on ``channel`` (0-15)."""

    onset_s: float
    length_s: float
    note: int
    velocity: int
    channel: int


class _Reader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.name, self.at = data, name, 0

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise InputError(f"{self.name}: the MIDI file ends in the middle of an event (cut short?)")
        chunk = self.data[self.at:self.at + count]
        self.at += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def var_len(self) -> int:
        value = 0
        for _ in range(4):
            b = self.byte()
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value
        raise InputError(f"{self.name}: a MIDI delta time longer than 4 bytes (not a Standard MIDI File?)")


def read_midi(path: str | os.PathLike) -> list[MidiNote]:
    """The notes of the Standard MIDI File at ``path`` in onset order (ties by note)."""
    name = os.fspath(path)
    if os.path.getsize(name) > MAX_BYTES:
        raise InputError(f"{name}: {os.path.getsize(name) / 1e6:.0f} MB is no MIDI file (at most "
                         f"{MAX_BYTES / 1e6:.0f} MB read)")
    with open(name, "rb") as f:
        data = f.read()
    if data[:4] != b"MThd" or len(data) < 14:
        raise InputError(f"{name}: expected a Standard MIDI File (.mid, starting 'MThd'), got {data[:4]!r}...")
    length, kind, tracks, division = struct.unpack(">IHHH", data[4:14])
    if kind not in (0, 1):
        raise InputError(f"{name}: MIDI format {kind}: expected format 0 or 1 (format 2's tracks are separate songs)")
    if division & 0x8000:
        raise InputError(f"{name}: SMPTE-timed MIDI: expected ticks per quarter note, as sequencers write")
    reader = _Reader(data, name)
    reader.at = 8 + length
    events: list[tuple[int, int, int, int, int]] = []  # (tick, on, order, channel << 8 | note, velocity)
    tempos: list[tuple[int, int]] = []  # (tick, microseconds per quarter note)
    for _ in range(tracks):
        while reader.take(4) != b"MTrk":  # (an unknown chunk is read past)
            reader.take(struct.unpack(">I", reader.take(4))[0])
        _track(reader, reader.at + 4 + struct.unpack(">I", reader.take(4))[0], events, tempos)
    return _notes(events, tempos, division or 1)


def _track(reader: _Reader, end: int, events: list, tempos: list) -> None:
    """The note-ons, note-offs and tempos of one track, read up to ``end``."""
    tick, status = 0, 0
    while reader.at < end:
        tick += reader.var_len()
        first = reader.byte()
        if first == 0xFF:  # meta: tempo kept, the rest read past
            meta, size = reader.byte(), reader.var_len()
            body = reader.take(size)
            if meta == 0x51 and size == 3:
                tempos.append((tick, int.from_bytes(body, "big")))
            elif meta == 0x2F:
                break
            continue
        if first in (0xF0, 0xF7):  # system exclusive
            reader.take(reader.var_len())
            continue
        if first & 0x80:
            status, data = first, reader.byte()
        elif status:
            data = first  # running status
        else:
            raise InputError(f"{reader.name}: a MIDI data byte with no status before it (not a Standard MIDI File?)")
        kind = status & 0xF0
        second = reader.byte() if kind not in (0xC0, 0xD0) else 0
        if kind in (0x80, 0x90):
            on = kind == 0x90 and second > 0
            events.append((tick, int(on), len(events), (status & 0x0F) << 8 | data, second))
    reader.at = max(reader.at, end)


def _notes(events: list, tempos: list, division: int) -> list[MidiNote]:
    """Pair note-ons with their note-offs, in seconds by the tempo map."""
    tempos = sorted(tempos) or [(0, DEFAULT_TEMPO)]
    if tempos[0][0] > 0:
        tempos.insert(0, (0, DEFAULT_TEMPO))
    starts, seconds = [t for t, _ in tempos], [0.0]
    for (tick, tempo), (next_tick, _) in zip(tempos, tempos[1:]):
        seconds.append(seconds[-1] + (next_tick - tick) * tempo / division / 1e6)

    def at(tick: int) -> float:
        k = bisect.bisect_right(starts, tick) - 1
        return seconds[k] + (tick - starts[k]) * tempos[k][1] / division / 1e6

    held: dict[int, tuple[int, int]] = {}
    notes = []
    for tick, on, _, key, velocity in sorted(events):  # (at one tick the offs first: a repeated note ends, then starts)
        if key in held:  # released, or struck again: the earlier one ends here
            begin, struck = held.pop(key)
            notes.append(MidiNote(at(begin), at(tick) - at(begin), key & 0x7F, struck, key >> 8))
        if on:
            held[key] = (tick, velocity)
    for key, (begin, struck) in held.items():  # never released: held to the last event
        notes.append(MidiNote(at(begin), at(events[-1][0]) - at(begin), key & 0x7F, struck, key >> 8))
    return sorted((n for n in notes if n.length_s > 0), key=lambda n: (n.onset_s, n.note))


TICKS_PER_QUARTER = 480  # written files: 120 bpm, so 960 ticks a second


def write_midi(path: str | os.PathLike, notes: list[MidiNote]) -> None:
    """:func:`midi_bytes` of ``notes`` written to ``path``."""
    with open(os.fspath(path), "wb") as f:
        f.write(midi_bytes(notes))


def midi_bytes(notes: list[MidiNote]) -> bytes:
    """``notes`` as a format-0 Standard MIDI File at 120 bpm (onsets and lengths to the nearest of 960 ticks a
    second; a DAW or :func:`read_midi` reads them back)."""
    ticks_per_second = TICKS_PER_QUARTER * 1e6 / DEFAULT_TEMPO
    events = []  # (tick, on, status, note, velocity): at one tick the note-offs first
    for n in notes:
        begin = round(n.onset_s * ticks_per_second)
        end = max(begin + 1, round((n.onset_s + n.length_s) * ticks_per_second))
        channel, note = min(15, max(0, n.channel)), min(127, max(0, n.note))
        events += [(begin, 1, 0x90 | channel, note, min(127, max(1, n.velocity))), (end, 0, 0x80 | channel, note, 0)]
    body, now = bytearray(), 0
    for tick, _, status, note, velocity in sorted(events):
        body += var_len_bytes(tick - now) + bytes([status, note, velocity])
        now = tick
    body += b"\x00\xff\x2f\x00"
    header = struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return b"MThd" + header + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def var_len_bytes(value: int) -> bytes:
    """``value`` (a delta time in ticks) as a MIDI variable-length quantity: 7 bits a byte, the high bit set on all
    but the last."""
    groups = [value & 0x7F]
    while value > 0x7F:
        value >>= 7
        groups.append((value & 0x7F) | 0x80)
    return bytes(reversed(groups))
