"""Mains hum under a note held through the whole recording (no quiet part to read it in): ``inverse predict`` with
the hum read under the note and taken out (:mod:`inverse.hum`, the default) against matched as it is, in the same run
on the same targets, each answer judged against the clean note; and how often hum is "found" in clean sounds.

    python benchmarks/held_hum.py [--sox 6] [--fluidsynth 4] [--below 20 30 40] [--out benchmarks/results/held_hum]

Targets: held notes cut to 4.2 s from their onset (sox's sine, square, triangle and sawtooth at a constant level;
General MIDI organ, strings, trumpet, flute, square lead, pad by fluidsynth), peak-normalised to -3 dBFS, with hum
``--below`` dB under the note's peak over the whole file: the two kinds of ``mains_hum.py`` (60 Hz with its 3rd and 5th
harmonics; a 50.03 Hz buzz), each note getting one in turn. Each is answered from its WAV file (``inverse predict FILE
--samples 10``, every default) both ways: "removed" as shipped, "kept" with :func:`inverse.hum.find_hum` made to find
none; the ten are scored against the clean note (best-of-10 MSS, how many on its pitch).

False alarms (run first; ``--clean-only``: only them): :func:`inverse.hum.find_hum` on clean sounds, where it must find
nothing: held notes of every sox waveform and General MIDI program above on 12 pitches from A1 to E5, held major triads
of those programs on the same roots (no quiet part: the rule under a note), the benchmarks' external sounds (sox and
fluidsynth notes, espeak-ng phrases) and the held-out prior-2 patches (``data/test_p2.h5``'s parameters, rendered).
Records: ``records.jsonl`` (answers, a rerun skips those there) and
``clean.json``; ``held_hum.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from external_sounds import (  # noqa: E402
    _semitones,
    _sox_synth,
    chord_midi,
    espeak_phrases,
    fluidsynth_notes,
    missing_tools,
    render_midi,
    sox_notes,
)
from mains_hum import WAYS, hum, hum_way, judged  # noqa: E402
from short_pitch import answer_table, answers, records_table, summary  # noqa: E402

import inverse.hum  # noqa: E402
from dataset_gen.layout import PARAMS, open_complete  # noqa: E402
from inverse.hum import find_hum  # noqa: E402
from synth.inputs import load_audio  # noqa: E402
from synth.voice import render  # noqa: E402

RATE = 16000
HELD_S = 4.2  # each held note cut to this long from its onset: longer than the 4.088 s window, no quiet part
SOX_WAVES = ("sine", "square", "triangle", "sawtooth")
GM_PROGRAMS = (16, 48, 56, 73, 80, 88)  # organ, strings, trumpet, flute, square lead, pad: notes that hold
MAJOR_TRIAD = (0, 4, 7)
NOTES = ("A1", "E2", "B2", "F#3", "C#4", "G#4", "D#5", "A2", "E3", "C4", "G4", "E5")  # the false alarms' 12 pitches


def _midi(note: str) -> int:
    return 69 + _semitones(note)


def held_note(folder: Path, kind: str, voice: str | int, note: str, chord: tuple[int, ...] = (0,)
              ) -> tuple[str, np.ndarray]:
    """One held note (General MIDI: the notes ``chord`` semitones above ``note`` struck together), cut to
    :data:`HELD_S` from its onset and peak-normalised to -3 dBFS: ``(name, audio)``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}_{voice}_{note}{'_chord' if len(chord) > 1 else ''}.wav"
    if kind == "sox":
        _sox_synth(path, "synth", f"{HELD_S + 0.1:g}", str(voice), f"%{_semitones(note)}", "fade", "0.01",
                   f"{HELD_S + 0.1:g}", "0.05", "gain", "-6")
    else:
        notes = [_midi(note) + step for step in chord]
        render_midi(chord_midi(int(voice), notes, seconds=HELD_S + 1.0), folder / "note.mid", path, RATE)
    audio, rate = soundfile.read(path, dtype="float64")
    audio = audio.mean(axis=1) if audio.ndim > 1 else audio
    assert rate == RATE, f"{path}: {rate} Hz"
    onset = int(np.argmax(np.abs(audio) > 0.01 * np.abs(audio).max()))
    audio = audio[onset: onset + round(HELD_S * RATE)]
    return path.stem, audio / np.abs(audio).max() * 10 ** (-3 / 20)


def held_sets(folder: Path, sox: int, fluidsynth: int, below: list[float]) -> dict[str, list]:
    """``sox`` sox and ``fluidsynth`` General MIDI held notes (waveforms / programs in turn, each on the next of A2, E3,
    C4, G4, E5), clean into ``folder / clean`` and with hum per level: ``{set: [(name, path, f0 Hz)]}``."""
    (folder / "clean").mkdir(parents=True, exist_ok=True)
    notes = []
    for k in range(sox + fluidsynth):
        kind, voices, j = ("sox", SOX_WAVES, k) if k < sox else ("gm", GM_PROGRAMS, k - sox)
        note = NOTES[7 + j % 5]
        name, audio = held_note(folder / "made", kind, voices[j % len(voices)], note)
        soundfile.write(folder / "clean" / f"{name}.wav", audio.astype(np.float32), RATE, subtype="FLOAT")
        notes.append((name, audio, 440.0 * 2 ** (_semitones(note) / 12)))
    sets = {}
    for level in below:
        out = folder / f"below{level:g}"
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for k, (name, audio, f0) in enumerate(notes):
            noisy = audio + hum(k % 2, audio.size, 10 ** ((-3 - level) / 20))
            soundfile.write(out / f"{name}.wav", noisy.astype(np.float32), RATE, subtype="FLOAT")
            rows.append((f"{name}@{('60Hz', '50Hz-buzz')[k % 2]}-{level:g}dB", out / f"{name}.wav", f0))
        sets[f"hum {level:g} dB below a held note"] = rows
    return sets


def false_alarms(folder: Path, patches: Path, limit: int) -> dict:
    """:func:`find_hum` on clean sounds (the module docstring lists them): per group, how many were read, how many
    of them had no quiet part (the rule under a note read them), where hum was found (names), and the seconds
    :func:`find_hum` took (median, max)."""
    groups: dict[str, list[tuple[str, torch.Tensor]]] = {"held notes": [], "held chords": [], "external sounds": [],
                                                         "patches": []}
    made = folder / "clean_held"
    for note in NOTES:
        for kind, voices in (("sox", SOX_WAVES), ("gm", GM_PROGRAMS)):
            for voice in voices:
                name, audio = held_note(made, kind, voice, note)
                groups["held notes"].append((name, torch.from_numpy(audio)))
        for program in GM_PROGRAMS:
            name, audio = held_note(made, "gm", program, note, chord=MAJOR_TRIAD)
            groups["held chords"].append((name, torch.from_numpy(audio)))
    external = (sox_notes(folder / "sox", 60) + fluidsynth_notes(folder / "fluidsynth", 60)
                + espeak_phrases(folder / "espeak", 60))
    groups["external sounds"] = [(name, load_audio(path, downmix=True)[0]) for name, path in external]
    file, _ = open_complete(patches)
    with file:
        params = torch.from_numpy(file[PARAMS][:limit])
    audio = torch.cat([render(chunk, path="fast") for chunk in params.split(64)])
    groups["patches"] = [(f"{patches.stem}[{i}]", a) for i, a in enumerate(audio)]
    under_note, off_note = [0], inverse.hum._off_note

    def counted(*args):
        under_note[0] += 1
        return off_note(*args)
    out = {}
    inverse.hum._off_note = counted  # called once per sound read under a note
    try:
        for group, sounds in groups.items():
            found, seconds, under_note[0] = [], [], 0
            for name, audio in sounds:
                started = time.perf_counter()
                result = find_hum(audio)
                seconds.append(time.perf_counter() - started)
                if result is not None:
                    found.append(f"{name}: {result.describe()}")
            out[group] = {"read": len(sounds), "under_note": under_note[0], "found": found,
                          "seconds_median": float(np.median(seconds)), "seconds_max": float(np.max(seconds))}
            print(f"{group}: hum found in {len(found)} of {len(sounds)} ({under_note[0]} read under a note)",
                  flush=True)
    finally:
        inverse.hum._off_note = off_note
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sox", type=int, default=6, help="sox held notes answered (default 6)")
    parser.add_argument("--fluidsynth", type=int, default=4, help="fluidsynth held notes answered (default 4)")
    parser.add_argument("--below", type=float, nargs="+", default=[20.0, 30.0, 40.0],
                        help="the hum's peak, dB below the note's (default 20 30 40)")
    parser.add_argument("--patches", type=Path, default=Path("data/test_p2.h5"),
                        help="held-out dataset whose patches are checked for false alarms (default data/test_p2.h5)")
    parser.add_argument("--patch-count", type=int, default=500, help="its first rows checked (default 500)")
    parser.add_argument("--clean-only", action="store_true", help="only the false alarms")
    parser.add_argument("--out", type=Path, default=RESULTS / "held_hum")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clean_path = args.out / "clean.json"
        if not clean_path.exists():
            clean_path.write_text(json.dumps(false_alarms(folder, args.patches, args.patch_count), indent=1) + "\n")
        clean = json.loads(clean_path.read_text())
        if args.clean_only:
            return 0
        sets = held_sets(folder, args.sox, args.fluidsynth, args.below)
        records = answers(sets, args.out / "records.jsonl", WAYS, hum_way, judged(folder))
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "false_alarms": clean, "records": records, "summary": summary(records, WAYS)}
    json_path, md_path = write_results(args.out, "held_hum", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    alarms = ["| clean sounds | read | of those, no quiet part (read under the note) | hum found | find_hum seconds, "
              "median (max) |", "|---|---:|---:|---:|---:|"]
    for group, r in results["false_alarms"].items():
        alarms.append(f"| {group} | {r['read']} | {r['under_note']} | {len(r['found'])} | {r['seconds_median']:.2f} "
                      f"({r['seconds_max']:.2f}) |")
    found = [f"- {line}" for r in results["false_alarms"].values() for line in r["found"]]
    intro = ("Each target (a held note cut to 4.2 s from its onset, -3 dBFS peak, with 60 Hz hum or a 50 Hz buzz "
             "under it) answered by the shipped default (`inverse predict FILE --samples 10`) each way; the ten scored "
             "against the clean note. Change: mean(removed) / mean(kept) - 1 of the best-of-10 MSS with its 95 % "
             "bootstrap interval over targets.")
    lines = ["# Mains hum under a held note: read under the note and taken out (the default) against kept", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "False alarms: `inverse.hum.find_hum` on clean sounds.", "", *alarms, "", *found, "", intro, "",
             *answer_table(results["summary"], WAYS), "", *records_table(results["records"], WAYS)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
