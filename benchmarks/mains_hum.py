"""Mains hum under an audio target: ``inverse predict`` with it taken out (:mod:`inverse.hum`, the default) against
matched as it is, in the same run on the same targets, each answer judged against the clean note.

    python benchmarks/mains_hum.py [--sox 6] [--fluidsynth 4] [--below 20 30 40] [--out benchmarks/results/mains_hum]

Targets: the benchmarks' sox notes and fluidsynth (General MIDI) notes, peak-normalised to -3 dBFS, each after 0.5 s
of silence and with 1 s of silence after it (a recording's lead-in and tail), with hum under the whole file,
``--below`` dB under the note's peak. Two kinds of hum per level, each note getting one of them in turn: "60 Hz"
(a sine at 60.00 Hz with its 3rd and 5th harmonics at -8 and -12 dB, as a ground loop through a transformer) and "50
Hz buzz" (harmonics 1-15 of 50.03 Hz falling as 1/k, random phases, its level swaying by +-0.5 dB at 0.3 Hz, as a
rectifier's). Each is answered from its WAV file (``inverse predict FILE --samples 10``, every default) both ways:
"removed" as shipped, "kept" with the hum left in the target (:func:`inverse.hum.find_hum` made to find none;
``--keep-noise`` also keeps the noise floor). What a user wanted is the note without the hum, so the ten are
scored against the clean note's file: best-of-10 multi-scale log-mel distance (MSS) and how many of the ten are on its
pitch. Records go to ``records.jsonl`` as each target is answered (a rerun skips those there); ``mains_hum.{json,md}``
at the end.
"""

from __future__ import annotations

import argparse
import math
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS  # noqa: E402
from dc_offset import judged_against_clean, notes_both_ways  # noqa: E402
from short_pitch import answer_table, records_table  # noqa: E402

import inverse.target  # noqa: E402
from inverse.hum import find_hum  # noqa: E402

WAYS = ("removed", "kept")
RATE = 16000
LEAD_S, TAIL_S = 0.5, 1.0  # silence before and after each note (a recording's lead-in and tail)


def hum(kind: int, samples: int, peak: float) -> np.ndarray:
    """Hum of ``kind`` (0: 60 Hz with its 3rd and 5th harmonics; 1: a 50.03 Hz buzz, harmonics 1-15 falling as 1/k,
    random phases, its level swaying +-0.5 dB at 0.3 Hz), ``samples`` long at 16 kHz, its peak ``peak``."""
    t = np.arange(samples) / RATE
    if kind == 0:
        tone = sum(gain * np.sin(2 * np.pi * 60.0 * k * t) for k, gain in ((1, 1.0), (3, 0.4), (5, 0.25)))
    else:
        phases = np.random.default_rng(samples).uniform(0, 2 * np.pi, 15)
        tone = sum(np.sin(2 * np.pi * 50.03 * k * t + phases[k - 1]) / k for k in range(1, 16))
        tone = tone * 10 ** (0.5 * np.sin(2 * np.pi * 0.3 * t) / 20)
    return tone / np.abs(tone).max() * peak


def hum_notes(clean: list[tuple[str, Path]], below: list[float], folder: Path) -> dict[str, list]:
    """Per level, every clean note (-3 dBFS peak, after 0.5 s and before 1 s of silence) with hum that far below its
    peak, the kinds in turn: ``{level name: [(name, path, NaN)]}``; the clean note of each ``name`` in ``folder /
    clean``."""
    (folder / "clean").mkdir(parents=True, exist_ok=True)
    notes = {}
    for name, path in clean:
        audio, rate = soundfile.read(path, dtype="float64")
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
        assert rate == RATE, f"{path}: {rate} Hz (the benchmark writes 16 kHz notes)"
        audio = np.concatenate([np.zeros(round(LEAD_S * RATE)), audio, np.zeros(round(TAIL_S * RATE))])
        notes[name] = audio / np.abs(audio).max() * 10 ** (-3 / 20)
        soundfile.write(folder / "clean" / f"{name}.wav", notes[name].astype(np.float32), RATE, subtype="FLOAT")
    sets = {}
    for level in below:
        out = folder / f"below{level:g}"
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for k, (name, audio) in enumerate(notes.items()):
            noisy = audio + hum(k % 2, audio.size, 10 ** ((-3 - level) / 20))
            soundfile.write(out / f"{name}.wav", noisy.astype(np.float32), RATE, subtype="FLOAT")
            rows.append((f"{name}@{('60Hz', '50Hz-buzz')[k % 2]}-{level:g}dB", out / f"{name}.wav", math.nan))
        sets[f"hum {level:g} dB below"] = rows
    return sets


@contextmanager
def hum_way(way: str):
    """Within the block, audio targets keep their hum where ``way`` is "kept"."""
    if way == WAYS[1]:
        inverse.target.find_hum = lambda audio: None
    try:
        yield
    finally:
        inverse.target.find_hum = find_hum


def judged(folder: Path):
    """``answers``' judge: :func:`dc_offset.judged_against_clean` with the hum the target's notes name."""
    against_clean = judged_against_clean(folder)

    def judge(prediction, f0_hz: float, seconds: float, name: str) -> dict:
        record = against_clean(prediction, f0_hz, seconds, name)
        del record["offset_read"]
        record["hum_read"] = next((note.split("took out ")[1].split(" (a steady")[0]
                                   for note in prediction.target.notes if "mains hum" in note), None)
        return record
    return judge


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sox", type=int, default=6, help="sox notes (default 6)")
    parser.add_argument("--fluidsynth", type=int, default=4, help="fluidsynth notes (default 4)")
    parser.add_argument("--below", type=float, nargs="+", default=[20.0, 30.0, 40.0],
                        help="the hum's peak, dB below the note's (default 20 30 40)")
    parser.add_argument("--out", type=Path, default=RESULTS / "mains_hum")
    args = parser.parse_args()
    return notes_both_ways(args, "mains_hum", lambda clean, folder: hum_notes(clean, args.below, folder), WAYS,
                           hum_way, judged, markdown)


def markdown(results: dict) -> str:
    lines = ["# Mains hum under the target: taken out (the default) against matched as it is", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target (a clean note at -3 dBFS between 0.5 s and 1 s of silence, with 60 Hz hum or a 50 Hz "
             "buzz under the whole file) answered by the shipped default (`inverse predict FILE --samples 10`) each "
             "way; the ten scored against the clean note. Change: mean(removed) / mean(kept) - 1 of the best-of-10 "
             "MSS with its 95 % bootstrap interval over targets.", "", *answer_table(results["summary"], WAYS), "",
             *records_table(results["records"], WAYS)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
