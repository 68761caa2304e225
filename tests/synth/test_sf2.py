"""The SoundFont 2 writer: the file's RIFF layout, record tables and sample data, read back by a walker here."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from synth.sf2 import PADDING, SAMPLE_ID, VELOCITY_MODULATORS, Zone, sf2_bytes, write_sf2

RECORD = {b"phdr": 38, b"pbag": 4, b"pmod": 10, b"pgen": 4, b"inst": 22, b"ibag": 4, b"imod": 10, b"igen": 4,
          b"shdr": 46}


def chunks(data: bytes) -> dict[bytes, bytes]:
    """The sub-chunks of a LIST body (after its 4-byte kind), by tag; odd sizes are padded."""
    out, at = {}, 0
    while at < len(data):
        tag, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        out[tag] = data[at + 8:at + 8 + size]
        at += 8 + size + size % 2
    assert at == len(data)
    return out


def parsed(data: bytes) -> dict[bytes, bytes]:
    assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] == len(data) - 8 and data[8:12] == b"sfbk"
    lists, at = {}, 12
    while at < len(data):
        tag, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        assert tag == b"LIST"
        lists[data[at + 8:at + 12]] = chunks(data[at + 12:at + 8 + size])
        at += 8 + size
    assert list(lists) == [b"INFO", b"sdta", b"pdta"]
    return {**lists[b"INFO"], **lists[b"sdta"], **lists[b"pdta"]}


def records(table: bytes, tag: bytes) -> list[bytes]:
    size = RECORD[tag]
    assert len(table) % size == 0, tag
    return [table[k:k + size] for k in range(0, len(table), size)]


def zones(count: int) -> list[Zone]:
    rng = np.random.default_rng(0)
    return [Zone(f"note {k}", rng.uniform(-1.2, 1.2, 1000 + 7 * k), 16000, 40 + 12 * k, (k * 40, k * 40 + 39))
            for k in range(count)]


def test_the_tables_point_at_each_other_and_end_in_terminal_records():
    given = zones(3)
    parts = parsed(sf2_bytes("a name longer than nineteen", given, release_s=0.5))
    assert parts[b"ifil"] == struct.pack("<HH", 2, 1) and parts[b"INAM"].rstrip(b"\0") == b"a name longer than nineteen"
    presets = records(parts[b"phdr"], b"phdr")
    assert [p[:20].rstrip(b"\0") for p in presets] == [b"a name longer than ", b"EOP"]  # 19 characters and a NUL
    assert struct.unpack("<HHH", presets[0][20:26]) == (0, 0, 0) and struct.unpack("<H", presets[1][24:26]) == (1,)
    assert records(parts[b"pgen"], b"pgen") == [struct.pack("<HH", 41, 0), bytes(4)]  # the one instrument
    instruments = records(parts[b"inst"], b"inst")
    assert instruments[1][:3] == b"EOI" and struct.unpack("<H", instruments[1][20:]) == (3,)
    bags = [struct.unpack("<HH", b) for b in records(parts[b"ibag"], b"ibag")]
    generators = [struct.unpack("<HBB", g) for g in records(parts[b"igen"], b"igen")]
    assert [b[0] for b in bags] == [0, 6, 12, 18] and len(generators) == 19 and generators[-1] == (0, 0, 0)
    assert records(parts[b"imod"], b"imod") == [bytes(10)]  # one layer: the sampler's own velocity response
    headers = records(parts[b"shdr"], b"shdr")
    assert headers[-1][:3] == b"EOS" and len(headers) == 4
    pcm = np.frombuffer(parts[b"smpl"], "<i2")
    for k, zone in enumerate(given):
        zone_generators = generators[bags[k][0]:bags[k + 1][0]]
        assert zone_generators[0] == (43, *zone.keys) and zone_generators[1] == (44, 0, 127)  # key, then velocity
        assert zone_generators[-1][0] == SAMPLE_ID and zone_generators[-1][1] == k  # the sample last
        assert (38, *struct.pack("<h", round(1200 * np.log2(0.5)))) in zone_generators  # release in timecents
        start, end, loop_start, loop_end, rate, root, correction, link, kind = struct.unpack(
            "<IIIIIBbHH", headers[k][20:])
        assert (end - start, rate, root, correction, kind) == (len(zone.audio), 16000, zone.root_key, 0, 1)
        assert start <= loop_start < loop_end <= end
        expected = np.round(np.clip(zone.audio, -1, 1) * 32767).astype(np.int16)
        assert np.array_equal(pcm[start:end], expected) and not pcm[end:end + PADDING].any()  # clipped, padded
    assert len(pcm) == sum(len(z.audio) + PADDING for z in given)


def test_velocity_layers_turn_the_default_velocity_modulators_off_in_every_zone(tmp_path):
    given = [Zone("soft", np.full(100, 0.1), 16000, 60, (0, 127), (1, 63)),
             Zone("loud", np.full(100, 0.9), 16000, 60, (0, 127), (64, 127))]
    size = write_sf2(tmp_path / "v.sf2", "layers", given, release_s=2.0, layered=True)
    parts = parsed((tmp_path / "v.sf2").read_bytes())
    assert size == (tmp_path / "v.sf2").stat().st_size
    modulators = [struct.unpack("<HHhHH", m) for m in records(parts[b"imod"], b"imod")]
    assert modulators[:-1] == [(s, d, 0, a, t) for s, d, a, t in VELOCITY_MODULATORS] * 2 and modulators[-1] == (0,) * 5
    bags = [struct.unpack("<HH", b) for b in records(parts[b"ibag"], b"ibag")]
    assert [b[1] for b in bags] == [0, 3, 6]
    generators = [struct.unpack("<HBB", g) for g in records(parts[b"igen"], b"igen")]
    assert generators[1] == (44, 1, 63) and generators[7] == (44, 64, 127)


def test_a_looped_zone_plays_its_loop_continuously():
    given = [Zone("held", np.full(1000, 0.5), 48000, 60, (0, 127), loop=(200, 900)), zones(1)[0]]
    parts = parsed(sf2_bytes("loop", given, release_s=1.0))
    generators = [struct.unpack("<HH", g) for g in records(parts[b"igen"], b"igen")]
    assert [amount for oper, amount in generators if oper == 54] == [1, 0]  # sampleModes: looped, then once
    first, second = (struct.unpack("<IIII", h[20:36]) for h in records(parts[b"shdr"], b"shdr")[:2])
    assert first == (0, 1000, 200, 900) and second[2:] == second[:2]  # the loop within the sample; none: its ends
    with pytest.raises(ValueError, match="loop \\(990, 1000\\) is not within the sample"):
        sf2_bytes("x", [Zone("late", np.zeros(1000), 48000, 60, (0, 127), loop=(990, 1000))], 1.0)


@pytest.mark.parametrize("zone, message", [
    (Zone("empty", np.zeros(0), 16000, 60, (0, 127)), "finite mono audio"),
    (Zone("nan", np.array([0.0, np.nan]), 16000, 60, (0, 127)), "finite mono audio"),
    (Zone("keys", np.zeros(10), 16000, 60, (70, 60)), "keys 70..60"),
    (Zone("velocity", np.zeros(10), 16000, 60, (0, 127), (0, 128)), "velocities 0..128"),
    (Zone("rate", np.zeros(10), 0, 60, (0, 127)), "rate 0 Hz"),
])
def test_an_unplayable_zone_is_refused_with_what_was_expected(zone, message):
    with pytest.raises(ValueError, match=message):
        sf2_bytes("x", [zone], 1.0)
    with pytest.raises(ValueError, match="at least one zone"):
        sf2_bytes("x", [], 1.0)
