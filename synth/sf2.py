"""A SoundFont 2 file writer: mono 16-bit samples laid out over the keyboard and velocity as one instrument.

SoundFont 2 (``.sf2``, the SoundFont 2.01 specification) is the sampled-instrument format SoundFont players read
(fluidsynth, which the tests drive; the SF2 players of DAWs; editors such as Polyphone). The file is a RIFF ``sfbk``: an
``INFO`` list (version, name), an ``sdta`` list (every sample's 16-bit points, each followed by 46 zero points, as
the format asks), and a ``pdta`` list of nine record tables: one preset (bank 0, program 0) that plays one instrument,
whose zones map a key range and a velocity range to a sample with its root key, played once or with its sustain
looped (sample mode 1), and a volume-envelope release. Each table ends with its terminal record. Only writing:
nothing here reads a file.

Where :class:`Zone` samples were recorded at several velocities (``layered``), the instrument overrides the
format's two default velocity modulators (note-on velocity to attenuation, 960 cB, and to filter cutoff, -2400
cents, in both of its published forms) with amount 0: the samples carry the loudness and brightness of their
velocity themselves, and a sampler adding its own would count them twice.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass

import numpy as np

#: Zero points after each sample (the format's minimum: interpolators read past a sample's end).
PADDING = 46
#: Generator numbers (SoundFont 2.01, section 8.1.3).
RELEASE_VOL_ENV, INSTRUMENT, KEY_RANGE, VEL_RANGE, SAMPLE_ID, SAMPLE_MODES, ROOT_KEY = 38, 41, 43, 44, 53, 54, 58
INITIAL_FILTER_FC, INITIAL_ATTENUATION = 8, 48
#: The default modulators that respond to note-on velocity, as (source, destination, amount source, transform):
#: to attenuation (concave, negative, unipolar), to filter cutoff as 2.01 gives it and as fluidsynth and 2.04 do
#: (its amount switched by velocity).
VELOCITY_MODULATORS = ((0x0502, INITIAL_ATTENUATION, 0, 0), (0x0102, INITIAL_FILTER_FC, 0, 0),
                       (0x0102, INITIAL_FILTER_FC, 0x0C02, 0))
NAME_BYTES = 20  # every name field: 20 bytes, NUL-terminated (so at most 19 characters)


@dataclass(frozen=True)
class Zone:
    """One sample and where it plays: ``audio`` float ``[num_samples]`` in [-1, 1] at ``sample_rate`` Hz, heard at
    MIDI ``root_key`` when played unshifted, for keys ``keys`` and velocities ``velocities`` (inclusive ranges,
    0-127); ``loop`` (start, end) in samples: played from the start and looped from ``end - 1`` back to ``start``
    for as long as the note sounds (None: played once)."""

    name: str
    audio: np.ndarray
    sample_rate: int
    root_key: int
    keys: tuple[int, int]
    velocities: tuple[int, int] = (0, 127)
    loop: tuple[int, int] | None = None

    def validate(self) -> None:
        if self.audio.ndim != 1 or self.audio.size == 0 or not np.isfinite(self.audio).all():
            raise ValueError(f"zone {self.name!r}: expected finite mono audio, got shape {self.audio.shape}")
        for label, (low, high) in (("keys", self.keys), ("velocities", self.velocities)):
            if not 0 <= low <= high <= 127:
                raise ValueError(f"zone {self.name!r}: {label} {low}..{high} is not a range within 0..127")
        if self.loop is not None and not 0 < self.loop[0] < self.loop[1] - 32 < self.audio.size - 40:
            raise ValueError(f"zone {self.name!r}: loop {self.loop} is not within the sample ({self.audio.size} "
                             "points, the loop at least 32 long and 8 points after it)")
        if not 0 <= self.root_key <= 127 or not 400 <= self.sample_rate <= 192_000:
            raise ValueError(f"zone {self.name!r}: root key {self.root_key} (0..127) or rate {self.sample_rate} Hz")


def _name(text: str) -> bytes:
    """A name field: ASCII (others as ``?``), at most 19 characters, NUL-padded to 20 bytes."""
    return text.encode("ascii", "replace")[:NAME_BYTES - 1].ljust(NAME_BYTES, b"\0")


def _chunk(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack("<I", len(body)) + body + b"\0" * (len(body) % 2)


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _text(value: str) -> bytes:
    """An INFO string: NUL-terminated, padded to an even length."""
    data = value.encode("ascii", "replace")[:255] + b"\0"
    return data + b"\0" * (len(data) % 2)


def _timecents(seconds: float) -> int:
    """Seconds as the format's timecents (1200 log2 s), within a signed 16-bit field's useful range."""
    return int(round(1200.0 * math.log2(min(100.0, max(0.001, seconds)))))


def sf2_bytes(name: str, zones: list[Zone], release_s: float, layered: bool = False) -> bytes:
    """The SoundFont 2 file of one preset ``name`` (bank 0, program 0) playing ``zones`` (each sample from its start
    while the key is held: once, or looped where the zone has a loop) with a ``release_s`` seconds volume-envelope
    release after the key is let go; ``layered``: the default velocity modulators off (see the module docstring).
    Raises ``ValueError`` for a zone that is not playable (:meth:`Zone.validate`) or data beyond the format's 32-bit
    offsets."""
    if not zones:
        raise ValueError("a SoundFont needs at least one zone")
    points, headers = [], []
    start = 0
    for zone in zones:
        zone.validate()
        pcm = np.round(np.clip(zone.audio.astype(np.float64), -1.0, 1.0) * 32767.0).astype("<i2")
        points += [pcm, np.zeros(PADDING, "<i2")]
        end = start + pcm.size
        # without a loop (sample mode 0) the loop points are the sample's ends, where every reader accepts them
        loop = (start, end) if zone.loop is None else (start + zone.loop[0], start + zone.loop[1])
        headers.append(_name(zone.name) + struct.pack("<IIIIIBbHH", start, end, *loop, zone.sample_rate,
                                                      zone.root_key, 0, 0, 1))
        start = end + PADDING
    if 2 * start > 0xFFFF_FFFF - 4096:
        raise ValueError(f"{start} sample points: more than a SoundFont's 32-bit chunk sizes hold")
    headers.append(_name("EOS") + bytes(26))
    generators, bags = [], []
    modulators = [struct.pack("<HHhHH", source, destination, 0, amount_source, transform)
                  for source, destination, amount_source, transform in VELOCITY_MODULATORS] if layered else []
    release = _timecents(release_s)
    for index, zone in enumerate(zones):
        # each zone: its generators (key range first, velocity range second, sampleID last, as the format asks) and
        # the velocity overrides
        bags.append(struct.pack("<HH", len(generators), len(modulators) * index))
        generators += [struct.pack("<HBB", KEY_RANGE, *zone.keys), struct.pack("<HBB", VEL_RANGE, *zone.velocities),
                       struct.pack("<Hh", RELEASE_VOL_ENV, release),
                       struct.pack("<HH", SAMPLE_MODES, 0 if zone.loop is None else 1),
                       struct.pack("<HH", ROOT_KEY, zone.root_key), struct.pack("<HH", SAMPLE_ID, index)]
    bags.append(struct.pack("<HH", len(generators), len(modulators) * len(zones)))
    pdta = _list(
        b"pdta",
        _chunk(b"phdr", _name(name) + struct.pack("<HHHIII", 0, 0, 0, 0, 0, 0)
               + _name("EOP") + struct.pack("<HHHIII", 0, 0, 1, 0, 0, 0)),
        _chunk(b"pbag", struct.pack("<HH", 0, 0) + struct.pack("<HH", 1, 0)),
        _chunk(b"pmod", bytes(10)),
        _chunk(b"pgen", struct.pack("<HH", INSTRUMENT, 0) + bytes(4)),
        _chunk(b"inst", _name(name) + struct.pack("<H", 0) + _name("EOI") + struct.pack("<H", len(zones))),
        _chunk(b"ibag", b"".join(bags)),
        _chunk(b"imod", b"".join(modulators * len(zones)) + bytes(10)),
        _chunk(b"igen", b"".join(generators) + bytes(4)),
        _chunk(b"shdr", b"".join(headers)))
    info = _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 1)), _chunk(b"isng", _text("EMU8000")),
                 _chunk(b"INAM", _text(name)), _chunk(b"ISFT", _text("inverse-synth")))
    sdta = _list(b"sdta", _chunk(b"smpl", np.concatenate(points).tobytes()))
    return _chunk(b"RIFF", b"sfbk" + info + sdta + pdta)


def write_sf2(path: str | os.PathLike, name: str, zones: list[Zone], release_s: float, layered: bool = False) -> int:
    """Write :func:`sf2_bytes` to ``path``; returns the file's size in bytes."""
    data = sf2_bytes(name, zones, release_s, layered)
    with open(path, "wb") as out:
        out.write(data)
    return len(data)
