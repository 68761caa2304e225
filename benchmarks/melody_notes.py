"""Melodies: how often ``inverse predict`` notes that a target steps through several held notes (:mod:`inverse.melody`),
how often it says so of a single note, and what keeping one note (``--start`` / ``--length``) gives.

    python benchmarks/melody_notes.py [--in-domain 300] [--predict 8] [--out benchmarks/results/melody_notes]

Targets (each read as ``inverse predict`` reads it, ``load_any_target``; a note is counted where its notes say "steps
through"):

- **melodies, development programs**: fluidsynth (FluidR3_GM) playing General MIDI programs 0, 19, 24, 33, 40, 56,
  73 and 80 (the ones the rules were written on), each three ways: an arpeggio C4 E4 G4 C5 (0.5 s each, legato), a
  scale A3 B3 C4 D4 E4 (0.35 s, 50 ms rests), two notes G3 D4 (1 s each); and four sox sawtooth notes C4 E4 G4 C5;
- **melodies, held-out programs**: the same three figures by programs 4, 11, 21, 26, 42, 65, 68 and 71, which nobody
  looked at while the rules were written;
- **single notes**: the issue 13 benchmark's 20 fluidsynth and 20 sox notes (``external_sounds``);
- **speech**: its 20 espeak-ng phrases;
- **in-domain**: the first ``--in-domain`` held-out prior-2 patches (seed 3; some move their pitch by an LFO or the
  pitch envelope in steps, which a patch does play);
- **each note**: for the first ``--predict`` arpeggios of the held-out programs, ``inverse predict`` (the shipped
  model, 10 candidates) on the whole file and on each note's part as ``--each-note`` cuts it (the first's is the
  ``--start`` / ``--length`` the note suggests): the best candidate's pitch against the note's (the first note's, C4,
  for the whole file; within 50 cents), candidates on that pitch, and the best-of-10 MSS each against its own
  target.

A melody is *read right* where the notes read are the notes written, in order, and the first one's start is within
60 ms of 0. ``melody_notes.{json,md}`` are written at the end.
"""

from __future__ import annotations

import argparse
import math
import statistics
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
    _sox_synth,
    espeak_phrases,
    fluidsynth_notes,
    melody_midi,
    missing_tools,
    render_midi,
    sox_notes,
)

from inverse.melody import held_notes, note_parts, steps_through_notes  # noqa: E402
from inverse.metrics import diversity  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.notes import note_name  # noqa: E402
from synth.pitch import estimate_pitch, midi_to_hz, pitch_agreement  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

DEVELOPMENT = (0, 19, 24, 33, 40, 56, 73, 80)
HELD_OUT = (4, 11, 21, 26, 42, 65, 68, 71)
#: (name, MIDI notes, seconds each, rest after each but the last)
FIGURES = (("arpeggio", (60, 64, 67, 72), 0.5, 0.0), ("scale", (57, 59, 60, 62, 64), 0.35, 0.05),
           ("two notes", (55, 62), 1.0, 0.0))
SOX_MELODY = (("%-9", 60), ("%-5", 64), ("%-2", 67), ("%3", 72))  # sox's %N: semitones from A4
HELD_OUT_SEED = 3


def melodies(folder: Path, programs: tuple[int, ...], sox: bool) -> list[tuple[str, Path, tuple[int, ...]]]:
    """The three :data:`FIGURES` by each of ``programs`` (and with ``sox`` the sox melody):
    ``[(name, path, notes)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for program in programs:
        for figure, notes, seconds, gap in FIGURES:
            name = f"gm{program:03d} {figure}"
            path = folder / f"gm{program:03d}_{figure.replace(' ', '_')}.wav"
            render_midi(melody_midi(program, list(notes), seconds, gap), path.with_suffix(".mid"), path)
            out.append((name, path, notes))
    if sox:
        parts = []
        for k, (pitch, _) in enumerate(SOX_MELODY):
            parts.append(folder / f"sox_part{k}.wav")
            _sox_synth(parts[-1], "synth", "0.4", "sawtooth", pitch, "fade", "0.01", "0.4", "0.05", "gain", "-8")
        path = folder / "sox_melody.wav"
        joined = [soundfile.read(part, dtype="float32")[0] for part in parts]
        soundfile.write(path, np.concatenate(joined), DEFAULT_CONFIG.sample_rate, subtype="FLOAT")
        out.append(("sox sawtooth melody", path, tuple(note for _, note in SOX_MELODY)))
    return out


def in_domain(folder: Path, count: int) -> list[tuple[str, Path, tuple]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for start in range(0, count, 50):
        audio = render(draw(HELD_OUT_SEED, start, min(50, count - start), prior="2"))
        for k in range(audio.shape[0]):
            path = folder / f"row{start + k:03d}.wav"
            soundfile.write(path, audio[k].numpy(), DEFAULT_CONFIG.sample_rate, subtype="FLOAT")
            out.append((path.stem, path, ()))
    return out


def read(name: str, path: Path, written: tuple[int, ...]) -> dict:
    """One target as predict reads it: whether it is noted as a melody, the notes read and (for a melody) whether
    they are the notes written; seconds :func:`held_notes` took (where the pitch is unclear, predict's case)."""
    target = load_any_target(path)
    noted = any("steps through" in note for note in target.notes)
    started = time.perf_counter()
    notes = held_notes(target.audio)
    seconds = time.perf_counter() - started
    record = {"name": name, "noted": noted, "clear_pitch": not math.isnan(target.pitch_hz),
              "read": [f"{n.name}@{n.start_s:.2f}" for n in notes], "steps": steps_through_notes(notes),
              "held_notes_s": round(seconds, 4)}
    if written:
        record["right"] = [n.name for n in notes] == [note_name(m) for m in written] and notes[0].start_s <= 0.06
    return record


def answered(predictor: Predictor, path: Path, note_hz: float, **kwargs) -> dict:
    """``predict(path, 10, **kwargs)`` judged against the pitch ``note_hz`` of the note it should have."""
    started = time.perf_counter()
    prediction = predictor.predict(str(path), 10, **kwargs)
    seconds = time.perf_counter() - started
    c = prediction.candidates
    best = int(c.match.argmin())
    pitches = estimate_pitch(c.audio).f0_hz
    on = pitch_agreement(pitches, torch.full_like(pitches, note_hz))["match"]
    return {"best_mss": round(float(c.mss.min()), 4), "best_on_note": bool(on[best]), "on_note": int(on.sum()),
            "diversity": round(diversity(c.params), 4), "seconds": round(seconds, 1)}


def each_note(predictor: Predictor, targets: list[tuple[str, Path, tuple[int, ...]]]) -> list[dict]:
    """Each target answered whole (judged against its first written note) and note by note as ``--each-note``
    cuts it (:func:`inverse.melody.note_parts`; each judged against the note read there, the first's part being
    the ``--start`` / ``--length`` the note suggests)."""
    out = []
    for name, path, written in targets:
        target = load_any_target(path)
        record = {"name": name, "read": [n.name for n in target.melody],
                  "whole": answered(predictor, path, midi_to_hz(written[0])), "notes": []}
        for held, (begin, length) in zip(target.melody, note_parts(target.melody)):
            record["notes"].append({"note": held.name, "start": round(target.start_s + begin, 4), "length": length,
                                    **answered(predictor, path, midi_to_hz(round(held.note)),
                                               start=round(target.start_s + begin, 4), length=length)})
        out.append(record)
        print(f"{name}: whole best on {note_name(written[0])} {record['whole']['best_on_note']}; each note: "
              + ", ".join(f"{n['note']} {n['best_on_note']}" for n in record["notes"]), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in-domain", type=int, default=300, help="held-out prior-2 patches (default 300)")
    parser.add_argument("--predict", type=int, default=8, help="held-out arpeggios answered both ways (default 8)")
    parser.add_argument("--out", type=Path, default=RESULTS / "melody_notes")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        held = melodies(folder / "held_out", HELD_OUT, sox=False)
        sets = {"melodies, development programs": melodies(folder / "development", DEVELOPMENT, sox=True),
                "melodies, held-out programs": held,
                "single notes": [(n, p, ()) for n, p in fluidsynth_notes(folder / "fluidsynth", 20)
                                 + sox_notes(folder / "sox", 20)],
                "speech": [(n, p, ()) for n, p in espeak_phrases(folder / "speech", 20)],
                "in-domain": in_domain(folder / "in_domain", args.in_domain)}
        reads = {set_name: [read(*target) for target in targets] for set_name, targets in sets.items()}
        arpeggios = [t for t in held if t[0].endswith("arpeggio")][:args.predict]
        notes = each_note(Predictor.from_checkpoint(), arpeggios) if arpeggios else []
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "seconds": round(time.perf_counter() - started), "reads": reads,
               "each_note": notes}
    json_path, md_path = write_results(args.out, "melody_notes", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    lines = ["# Melodies: the note `inverse predict` gives a target that steps through several held notes", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']}, "
             f"{results['seconds']} s)", "",
             "| set | targets | noted as a melody | notes read right | held_notes s (median) |",
             "|---|---:|---:|---:|---:|"]
    for set_name, records in results["reads"].items():
        right = [r["right"] for r in records if "right" in r]
        lines.append(f"| {set_name} | {len(records)} | {sum(r['noted'] for r in records)} | "
                     f"{f'{sum(right)}' if right else '-'} | "
                     f"{statistics.median(r['held_notes_s'] for r in records):.3f} |")
    lines += ["", "Noted targets outside the melodies, and melodies missed or misread:", ""]
    for set_name, records in results["reads"].items():
        melodic = set_name.startswith("melodies")
        for r in records:
            if (r["noted"] and not melodic) or (melodic and not (r["noted"] and r["right"])):
                lines.append(f"- {set_name}, {r['name']}: noted {r['noted']}, read {' '.join(r['read']) or '-'}")
    if results["each_note"]:
        lines += ["", "## Each note on its own (`--each-note`) against the whole file", "",
                  "The whole file judged against its first note's pitch (C4), each note's part against the note read "
                  "there; best: the first candidate (lowest match) within 50 cents; on pitch: of the 10. MSS each "
                  "against its own target, so not a ratio.", "",
                  "| arpeggio | whole: best on C4, on C4 of 10, best MSS | each note: note best / on pitch of 10 / "
                  "best MSS |", "|---|---|---|"]
        for r in results["each_note"]:
            w = r["whole"]
            each = "; ".join(f"{n['note']} {'yes' if n['best_on_note'] else 'no'} / {n['on_note']} / "
                             f"{n['best_mss']:.3f}" for n in r["notes"])
            lines.append(f"| {r['name']} | {'yes' if w['best_on_note'] else 'no'}, {w['on_note']}, "
                         f"{w['best_mss']:.4f} | {each} |")
        wholes = [r["whole"] for r in results["each_note"]]
        firsts = [r["notes"][0] for r in results["each_note"] if r["notes"]]
        notes = [n for r in results["each_note"] for n in r["notes"]]
        for label, answers in (("whole file (against C4)", wholes), ("first note's part (the note's suggestion)",
                                                                     firsts), ("every note's part", notes)):
            lines.append(f"\n{label}: best candidate on the note for {sum(a['best_on_note'] for a in answers)} of "
                         f"{len(answers)}; {sum(a['on_note'] for a in answers)} of {10 * len(answers)} candidates on "
                         f"it; {statistics.median(a['seconds'] for a in answers):.1f} s per answer (median)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
