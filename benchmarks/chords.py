"""Chords: ``inverse predict`` with its chord candidates (:mod:`inverse.chord`, the default) against without them,
in the same run on the same targets.

    python benchmarks/chords.py [--in-domain 16] [--out benchmarks/results/chords]

A target that holds two or three notes at once (a triad from a keyboard, strings, a pad; a fifth from a lead) is
something the synth plays exactly, one oscillator a note, but the pool rarely held one: the prior's musical part stacks
unisons, octaves and fifths, and refinement cannot move a discrete semitone offset. With the default, the notes read
in the target's sustained spectrum are played by plain patches that join the pool; "without" answers as before (no
notes read, so no chord candidates).

Targets, each answered from its WAV file (``inverse predict FILE --samples 10``) both ways:

- **fluidsynth chords**: 18 chords of 14 General MIDI programs (pianos, electric pianos, organs, guitars, strings,
  choir, brass, leads, a pad, vibraphone, harp), major and minor triads and fifths, 2.5 s, by fluidsynth with
  FluidR3_GM (none of the programs, roots and kinds tried while the chord reader was written);
- **sox chords**: 8 chords of sox's waveforms (sawtooth, square, triangle, sine, trapezium, pluck), 3 s;
- **in-domain with notes read**: the first ``--in-domain`` held-out prior-2 patches (seed 3) in which the reader finds
  two or more notes (prior patches often stack oscillators at several pitches), where the chord candidates could
  take the place of better ones.

And the reader alone on the benchmarks' single sounds (20 sox notes, 20 fluidsynth notes, 20 espeak-ng phrases) and
the 500 held-out patches: how many read as several notes (those get chord candidates; the others answer as before, bit
for bit). Judged per answer as in ``short_pitch.py`` (best-of-10 MSS, diversity, seconds) and, for the chords, by the
parameters: whether the first candidate, and how many of the ten, play the chord's pitch classes (the notes of the
oscillators at a level of at least a tenth of the loudest one's, rounded) and its exact notes.
Records go to ``records.jsonl`` as each target is answered; ``chords.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import soundfile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from external_sounds import (  # noqa: E402
    _semitones,
    chord_midi,
    missing_tools,
    render_midi,
    single_sounds,
)
from short_pitch import answer_table, answers, judge, summary  # noqa: E402

import inverse.sampling  # noqa: E402
from inverse.chord import estimate_notes  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.params import physical_dict  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

WAYS = ("chord candidates", "without")
HELD_OUT_SEED = 3
KINDS = {"major": (0, 4, 7), "minor": (0, 3, 7), "fifth": (0, 7)}
#: (General MIDI program, root MIDI note, kind): none of them a chord the reader was tried on while it was written.
FLUIDSYNTH_CHORDS = [
    (0, 55, "major"), (0, 62, "minor"), (0, 48, "fifth"), (4, 57, "major"), (5, 50, "minor"), (16, 60, "major"),
    (19, 53, "minor"), (24, 45, "minor"), (25, 50, "major"), (48, 55, "major"), (49, 64, "minor"),
    (52, 57, "major"), (61, 58, "major"), (80, 48, "fifth"), (81, 52, "fifth"), (89, 53, "major"),
    (11, 60, "minor"), (46, 52, "major"),
]
#: (sox waveform, root note name, kind).
SOX_CHORDS = [("sawtooth", "D3", "major"), ("square", "F3", "minor"), ("triangle", "A3", "major"),
              ("sine", "C4", "major"), ("sawtooth", "G2", "fifth"), ("square", "B2", "minor"),
              ("trapezium", "D4", "minor"), ("pluck", "E3", "major")]
LEVEL_SHARE = 0.1  # an oscillator sounds where its level is at least this x the loudest oscillator's


def fluidsynth_chords(folder: Path) -> list[tuple[str, Path, float, list[int]]]:
    """:data:`FLUIDSYNTH_CHORDS` rendered (2.5 s held) at 16 kHz: ``[(name, path, NaN, MIDI notes)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for program, root, kind in FLUIDSYNTH_CHORDS:
        notes = [root + step for step in KINDS[kind]]
        name = f"gm{program:03d}_{root}_{kind}"
        render_midi(chord_midi(program, notes, 2.5, velocity=90), folder / f"{name}.mid", folder / f"{name}.wav")
        out.append((name, folder / f"{name}.wav", math.nan, notes))
    return out


def sox_chords(folder: Path) -> list[tuple[str, Path, float, list[int]]]:
    """:data:`SOX_CHORDS` by ``sox synth`` (3 s, the tones mixed, 0.5 s fade-out): ``[(name, path, NaN, notes)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for shape, root, kind in SOX_CHORDS:
        notes = [69 + _semitones(root) + step for step in KINDS[kind]]
        tones = [arg for note in notes for arg in (shape, f"%{note - 69}")]
        path = folder / f"sox_{shape}_{root}_{kind}.wav"
        subprocess.run(["sox", "-n", "-r", "16000", "-b", "16", str(path), "synth", "3", *tones, "remix", "-",
                        "gain", "-n", "-6", "fade", "0", "3", "0.5"], check=True, capture_output=True)
        out.append((path.stem, path, math.nan, notes))
    return out


def sounding_notes(params: torch.Tensor) -> list[list[float]]:
    """For each row of ``params`` ``Tensor[K, 100]`` (normalised), the MIDI notes its oscillators play (note +
    octave and semitone offsets + fine tuning) where their level is at least :data:`LEVEL_SHARE` of the loudest."""
    out = []
    for row in params:
        p = physical_dict(row)
        levels = [p[f"osc{k}_level"] for k in (1, 2, 3)]
        out.append([p["note_pitch"] + 12 * p[f"osc{k}_octave"] + p[f"osc{k}_semitone"] + p[f"osc{k}_fine"] / 100
                    for k, level in zip((1, 2, 3), levels) if level > 0 and level >= LEVEL_SHARE * max(levels)])
    return out


def plays(sounding: list[float], notes: list[int], exact: bool) -> bool:
    """Whether ``sounding`` (MIDI notes) are the chord ``notes``: as sets of pitch classes, or of notes (``exact``)."""
    rounded = {round(n) for n in sounding}
    if exact:
        return rounded == set(notes)
    return {n % 12 for n in rounded} == {n % 12 for n in notes}


@contextmanager
def chords_way(way: str):
    """Within the block, ``predict`` reads no notes (so adds no chord candidates) where ``way`` is "without"."""
    if way == WAYS[1]:
        inverse.sampling.estimate_notes = lambda audio: []
    try:
        yield
    finally:
        inverse.sampling.estimate_notes = estimate_notes


def in_domain(folder: Path, count: int, scan: int = 500) -> tuple[list, int]:
    """The first ``count`` of the first ``scan`` held-out prior-2 patches in which the reader finds two or more notes,
    as float WAVs ``[(name, path, NaN, [])]``, and how many of the ``scan`` it finds them in."""
    params = draw(HELD_OUT_SEED, 0, scan, prior="2")
    folder.mkdir(parents=True, exist_ok=True)
    chosen, found = [], 0
    for start in range(0, scan, 50):
        audio = render(params[start: start + 50])
        for k in range(len(audio)):
            if len(estimate_notes(audio[k])) < 2:
                continue
            found += 1
            if len(chosen) < count:
                path = folder / f"row{start + k:03d}.wav"
                soundfile.write(path, audio[k].numpy(), DEFAULT_CONFIG.sample_rate, subtype="FLOAT")
                chosen.append((path.stem, path, math.nan, []))
    return chosen, found


def reader_check(folder: Path) -> dict:
    """The reader alone on the benchmarks' single sounds: which read as several notes."""
    singles = single_sounds(folder)
    several = [name for name, path in singles if len(estimate_notes(load_any_target(path, downmix=True).audio)) > 1]
    return {"singles": len(singles), "several": several}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in-domain", type=int, default=16,
                        help="held-out patches with notes read answered both ways (default 16)")
    parser.add_argument("--out", type=Path, default=RESULTS / "chords")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reader = reader_check(folder / "singles")
        chords = {"fluidsynth chords": fluidsynth_chords(folder / "fluidsynth"),
                  "sox chords": sox_chords(folder / "sox")}
        domain, found = in_domain(folder / "in_domain", args.in_domain)
        notes = {name: chord for targets in chords.values() for name, _, _, chord in targets}

        def judged(prediction, f0_hz: float, seconds: float, name: str) -> dict:
            record = judge(prediction, f0_hz, seconds)
            record["read"] = [round(n, 2) for n, _ in estimate_notes(prediction.target.audio)]
            if notes.get(name):
                sounding = sounding_notes(prediction.candidates.params)
                for exact, key in ((False, "classes"), (True, "exact")):
                    hits = [plays(s, notes[name], exact) for s in sounding]
                    record[f"first_{key}"], record[f"{key}"] = hits[0], sum(hits)
            return record

        sets = {name: [t[:3] for t in targets] for name, targets in chords.items()}
        sets["in-domain with notes read"] = [t[:3] for t in domain]
        records = answers(sets, args.out / "records.jsonl", WAYS, chords_way, judged)
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records, WAYS),
               "chord_notes": notes, "reader": reader, "in_domain": {"scanned": 500, "several_notes": found}}
    json_path, md_path = write_results(args.out, "chords", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    lines = ["# Chords: `inverse predict` with chord candidates against without them", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target answered by the shipped default (`inverse predict FILE --samples 10`) each way. Change: "
             "mean(with) / mean(without) - 1 of the best-of-10 MSS with its 95 % bootstrap interval over targets.", "",
             *answer_table(results["summary"], WAYS), "",
             "Playing the chord (by the parameters: the oscillators sounding at a tenth of the loudest one's level or "
             "more, notes rounded): the first candidate, and of all ten, as pitch classes and as exact notes:", "",
             "| set | targets | way | first: pitch classes | all ten: pitch classes | first: exact | all ten: exact |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for set_name in dict.fromkeys(r["set"] for r in results["records"]):
        rows = [r for r in results["records"] if r["set"] == set_name and results["chord_notes"].get(r["name"])]
        if not rows:
            continue
        for way in WAYS:
            lines.append(f"| {set_name} | {len(rows)} | {way} | {sum(r[way]['first_classes'] for r in rows)} | "
                         f"{sum(r[way]['classes'] for r in rows)}/{10 * len(rows)} | "
                         f"{sum(r[way]['first_exact'] for r in rows)} | {sum(r[way]['exact'] for r in rows)}/"
                         f"{10 * len(rows)} |")
    reader = results["reader"]
    lines += ["", f"The reader alone: of {reader['singles']} single sounds (20 sox notes, 20 fluidsynth notes, 20 "
              f"espeak-ng phrases) {len(reader['several'])} read as several notes"
              f"{': ' + ', '.join(reader['several']) if reader['several'] else ''}; of the first "
              f"{results['in_domain']['scanned']} held-out prior-2 patches {results['in_domain']['several_notes']}.",
              "", "| set | target | notes (MIDI) | notes read | " + " | ".join(
                  f"{way}: best MSS, first plays it, all ten" for way in WAYS) + " |", "|---|---|---|---|---:|---:|"]
    for r in results["records"]:
        chord = results["chord_notes"].get(r["name"]) or []
        cells = []
        for way in WAYS:
            j = r[way]
            cells.append(f"{j['best_mss']:.4f}, " + (f"{'yes' if j['first_classes'] else 'no'}, {j['classes']}"
                                                      if chord else "-, -"))
        lines.append(f"| {r['set']} | {r['name']} | {' '.join(map(str, chord)) or '-'} | "
                     f"{' '.join(f'{n:.1f}' for n in r[WAYS[0]]['read'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
