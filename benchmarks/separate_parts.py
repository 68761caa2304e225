"""How often each kind of sound reads as several parts with silence between them (:mod:`inverse.parts`), the reading
behind ``inverse predict``'s note that a target may be several sounds a patch cannot play at once.

    python benchmarks/separate_parts.py [--in-domain 300] [--out benchmarks/results/separate_parts]

Sets, each read from its WAV file as ``predict`` reads it (:func:`inverse.target.load_any_target`):

- **single sounds**: the benchmarks' 20 sox notes, 20 fluidsynth notes and 20 espeak-ng phrases (a phrase's words
  *are* several parts), 12 General MIDI drum hits and 8 sox one-shots;
- **loops**: General MIDI drum hits (kick, snare, hats, toms) by fluidsynth, four per loop at 90-150 BPM, each hit
  cut where the next begins (so a hit's tail may reach it), and the same loops with the hits overlapping by 50 ms;
- **staccato**: sox notes repeated 3-5 times with 60-200 ms of silence between them;
- **in-domain**: the first ``--in-domain`` held-out prior-2 patches (seed 3): a patch's delay or a gating tremolo
  can make parts too.

Writes ``separate_parts.{json,md}``: per set, how many read as several parts, and each one that does.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from external_sounds import _sox_synth, drum_hits, missing_tools, single_sounds, sox_one_shots  # noqa: E402

from inverse.parts import sounding_parts  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

HELD_OUT_SEED = 3
#: Loops: (hit note numbers in order, beats per minute).
LOOPS = [((36, 38, 36, 38), 120), ((36, 42, 38, 42), 100), ((35, 46, 38, 46), 90), ((36, 36, 38, 42), 140),
         ((41, 45, 38, 36), 110), ((36, 39, 36, 39), 150)]
#: Staccato: (sox waveform, note, notes, seconds each, seconds of silence between).
STACCATO = [("sawtooth", "A3", 4, 0.2, 0.1), ("square", "E3", 3, 0.3, 0.2), ("sine", "C4", 5, 0.12, 0.06),
            ("triangle", "G3", 4, 0.25, 0.15)]


def loops(folder: Path, hits: dict[int, Path], overlap_s: float = 0.0) -> list[tuple[str, Path]]:
    """:data:`LOOPS` built by sox from the drum hits (``{note: path}``), each hit trimmed to its beat (plus
    ``overlap_s``, mixed over the next)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k, (notes, bpm) in enumerate(LOOPS):
        beat = 60.0 / bpm
        pieces = []
        for j, note in enumerate(notes):
            piece = folder / f"loop{k}_{j}.wav"
            subprocess.run(["sox", "-D", str(hits[note]), "-c", "1", str(piece), "trim", "0", f"{beat + overlap_s:.3f}",
                            "pad", f"{j * beat:.3f}", "0"], check=True)
            pieces.append(str(piece))
        path = folder / f"loop{k}_{bpm}bpm{'_overlap' if overlap_s else ''}.wav"
        subprocess.run(["sox", "-D", "-m", *pieces, str(path), "gain", "-n", "-6"], check=True)
        out.append((path.stem, path))
    return out


def drum_loops(folder: Path, overlap_s: float = 0.0) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]]]:
    """The 12 General MIDI drum hits (:func:`external_sounds.drum_hits`) and :data:`LOOPS` made of them
    (:func:`loops`): ``(hits, loops)``."""
    hits = drum_hits(folder / "drums", 12)
    by_note = {int(name.rsplit("_n", 1)[1]): path for name, path in hits}
    return hits, loops(folder / "loops", by_note, overlap_s)


def staccato(folder: Path) -> list[tuple[str, Path]]:
    """:data:`STACCATO` by sox: each note with a 5 ms fade in and out, then silence."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for shape, note, count, seconds, gap in STACCATO:
        one = folder / f"{shape}_{note}_one.wav"
        _sox_synth(one, "synth", f"{seconds}", shape, note, "fade", "0.005", f"{seconds}", "0.005", "gain", "-6",
                   "pad", "0", f"{gap}")
        path = folder / f"staccato_{shape}_{note}_x{count}.wav"
        subprocess.run(["sox", "-D", *[str(one)] * count, str(path)], check=True)
        out.append((path.stem, path))
    return out


def in_domain(folder: Path, count: int) -> list[tuple[str, Path]]:
    """The first ``count`` held-out prior-2 patches as float WAVs."""
    folder.mkdir(parents=True, exist_ok=True)
    params, out = draw(HELD_OUT_SEED, 0, count, prior="2"), []
    for start in range(0, count, 50):
        audio = render(params[start: start + 50])
        for k in range(len(audio)):
            path = folder / f"row{start + k:03d}.wav"
            soundfile.write(path, audio[k].numpy(), DEFAULT_CONFIG.sample_rate, subtype="FLOAT")
            out.append((path.stem, path))
    return out


def read(sets: dict[str, list[tuple[str, Path]]]) -> dict:
    """Per set: how many targets read as several parts, and those (name: part starts in seconds)."""
    out = {}
    for set_name, targets in sets.items():
        several = {}
        for name, path in targets:
            target = load_any_target(path, downmix=True)
            parts = sounding_parts(target.audio)
            if len(parts) >= 2:
                several[name] = [round(p.start_s, 2) for p in parts]
        out[set_name] = {"targets": len(targets), "several": several}
        print(f"{set_name}: {len(several)} of {len(targets)} read as several parts", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in-domain", type=int, default=300, help="held-out patches read (default 300)")
    parser.add_argument("--out", type=Path, default=RESULTS / "separate_parts")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        hits, cut = drum_loops(folder)
        sets = {"sox, fluidsynth notes and espeak-ng phrases": single_sounds(folder / "singles"),
                "drum hits and sox one-shots": hits + sox_one_shots(folder / "shots", 8),
                "drum loops, hits cut at the next": cut,
                "drum loops, hits overlapping 50 ms": drum_loops(folder / "overlap", 0.05)[1],
                "staccato sox notes": staccato(folder / "staccato"),
                "in-domain": in_domain(folder / "in_domain", args.in_domain)}
        found = read(sets)
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "sets": found}
    json_path, md_path = write_results(args.out, "separate_parts", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    lines = ["# Targets that read as several parts with silence between them (`inverse/parts.py`)", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "| set | targets | read as several parts |", "|---|---:|---:|"]
    for set_name, found in results["sets"].items():
        lines.append(f"| {set_name} | {found['targets']} | {len(found['several'])} |")
    lines += ["", "| set | target | parts start at (s) |", "|---|---|---|"]
    for set_name, found in results["sets"].items():
        for name, starts in found["several"].items():
            lines.append(f"| {set_name} | {name} | {', '.join(f'{s:.2f}' for s in starts)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
