"""Notes above CREPE's range (C7-C8): ``inverse predict`` with the pitch tracker's high register
(:func:`synth.pitch.high_register`, the default) against CREPE alone, in the same run on the same targets.

    python benchmarks/high_pitch.py [--in-domain 500] [--control 5] [--first 0] [--out benchmarks/results/high_pitch]

CREPE's 360 bins end at 2 kHz, so a note from C7 up never had a clear pitch: ``predict`` treated it as unpitched
(no pitch check, no candidates moved to its pitch, no sub-octave term, no pitch fill). With the default, a frame
that is one tone at or above 1950 Hz is read at its spectrum's peak.

Targets, each answered from its WAV file (``inverse predict FILE --samples 10``) once per way of tracking:

- **high notes**: 16 sox notes (sine, square, triangle, sawtooth x C7, E7, G7, C8) and 16 General MIDI notes
  (celesta, glockenspiel, music box, xylophone, piccolo, flute, whistle, ocarina x C7, F7) by fluidsynth
  (:func:`external_sounds.high_notes`);
- **in-domain**: those of the first ``--in-domain`` held-out prior-2 patches (seed 3) whose verdict (clear pitch or
  not) differs between the two ways, and as a control the first ``--control`` with a clear pitch both ways and
  the first ``--first`` whatever their pitch (the pitch check reads every candidate of the pool, so an answer can
  change where the target's reading does not).

First the tracker alone, both ways, on the benchmarks' other external sounds (sox, fluidsynth and espeak-ng sounds,
drum hits, one-shots, noise bursts and chirps, blips, staccato notes): which change verdict or reading.
Judged per answer as in ``short_pitch.py`` (best-of-10 MSS; the first candidate and how many of the ten are within 50
cents of the note, read by the default tracker, the only one of the two that reads these notes; diversity; seconds).
Records go to ``records.jsonl`` as each target is answered; ``high_pitch.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import math
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
    drum_hits,
    espeak_phrases,
    fluidsynth_notes,
    high_notes,
    missing_tools,
    sox_blips,
    sox_notes,
    sox_one_shots,
    staccato_notes,
    tracker_blips,
    unpitched_bursts,
)
from short_pitch import answer_table, answers, records_table, summary  # noqa: E402

import synth.pitch  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.pitch import CENTS_TOLERANCE, cents, estimate_pitch  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

WAYS = ("high register", "CREPE only")
HELD_OUT_SEED = 3  # the seed of inverse_quality's held-out in-domain targets


def no_high_register(frames: torch.Tensor, config) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`synth.pitch.high_register` that finds no tone (the way before it)."""
    return torch.full((len(frames),), math.nan), torch.zeros(len(frames), dtype=torch.bool)


_HIGH_REGISTER = synth.pitch.high_register


@contextmanager
def tracking(way: str):
    """Within the block, every pitch reading (the target's, the pitch check's) is as ``way`` says."""
    if way == WAYS[1]:
        synth.pitch.high_register = no_high_register
    try:
        yield
    finally:
        synth.pitch.high_register = _HIGH_REGISTER


def both_ways(audio: torch.Tensor) -> dict:
    """:func:`estimate_pitch` of ``audio`` ``Tensor[B, N]`` each way."""
    out = {}
    for way in WAYS:
        with tracking(way):
            out[way] = estimate_pitch(audio)
    return out


def tracker_check(folder: Path) -> dict:
    """The tracker alone, both ways, on 175 other external sounds: which change verdict, or read more than a cent
    apart where both ways call them clear."""
    named = (sox_notes(folder / "sox", 20) + fluidsynth_notes(folder / "fluidsynth", 20) +
             espeak_phrases(folder / "espeak", 20) + drum_hits(folder / "drums", 12) +
             sox_one_shots(folder / "shots", 8) + unpitched_bursts(folder / "bursts") +
             [item[:2] for item in sox_blips(folder / "blips", 24) + tracker_blips(folder / "tracker_blips") +
              staccato_notes(folder / "staccato", 10)])
    audio = torch.stack([load_any_target(path, downmix=True, gate_noise=False).audio for _, path in named])
    found = both_ways(audio)
    new, old = found[WAYS[0]], found[WAYS[1]]
    both = new.clear & old.clear
    moved = both & (cents(new.f0_hz, old.f0_hz).abs() > 1.0)
    changed = [name for (name, _), a, b, m in zip(named, new.clear, old.clear, moved) if bool(a) != bool(b) or m]
    return {"sounds": len(named), "clear": {way: int(found[way].clear.sum()) for way in WAYS}, "changed": changed}


def in_domain(folder: Path, scan: int, control: int, first: int) -> tuple[list, list, list, float]:
    """Of the first ``scan`` held-out prior-2 patches: those whose verdict differs between the two ways, the first
    ``control`` with a clear pitch both ways, the first ``first`` whatever their pitch (float WAVs ``[(name, path,
    f0 Hz)]``, the default's reading, NaN where not clear), and the largest difference in cents between the two ways'
    readings of a patch both call clear."""
    params = draw(HELD_OUT_SEED, 0, scan, prior="2")
    folder.mkdir(parents=True, exist_ok=True)
    differ, same, leading, largest = [], [], [], 0.0
    for start in range(0, scan, 50):
        audio = render(params[start: start + 50])
        found = both_ways(audio)
        new, old = found[WAYS[0]], found[WAYS[1]]
        both = new.clear & old.clear
        if bool(both.any()):
            largest = max(largest, float(cents(new.f0_hz[both], old.f0_hz[both]).abs().max()))
        for k in range(len(audio)):
            groups = [group for group, chosen in ((leading, start + k < first),
                                                  (differ, bool(new.clear[k]) != bool(old.clear[k])),
                                                  (same, bool(both[k]) and len(same) < control)) if chosen]
            if not groups:
                continue
            path = folder / f"row{start + k:03d}.wav"
            soundfile.write(path, audio[k].numpy(), DEFAULT_CONFIG.sample_rate, subtype="FLOAT")
            for group in groups:
                group.append((path.stem, path, float(new.f0_hz[k]) if bool(new.clear[k]) else math.nan))
    return differ, same, leading, largest


def markdown(results: dict) -> str:
    tracker, scan = results["tracker"], results["in_domain"]
    lines = ["# Notes above CREPE's range: the pitch tracker's high register against CREPE alone", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target answered by the shipped default (`inverse predict FILE --samples 10`) each way. Change: "
             "mean(high register) / mean(CREPE only) - 1 of the best-of-10 MSS with its 95 % bootstrap interval over "
             f"targets. Pitch: within {CENTS_TOLERANCE:.0f} cents of the note (in-domain: of the default's reading), "
             "read by the default tracker for both ways; octave errors counted apart. 'clear': targets that "
             "`predict` judged to have a clear pitch (so it ran the pitch check).", "",
             *answer_table(results["summary"], WAYS), "",
             f"In-domain: of the first {scan['scanned']} held-out prior-2 patches (seed {HELD_OUT_SEED}), "
             f"{scan['verdict_differs']} have a clear pitch one way and not the other; where both ways call a patch "
             f"clear, their readings differ by at most {scan['largest_cents']:.2f} cents.", "",
             f"The tracker alone on {tracker['sounds']} other external sounds: clear pitch "
             + ", ".join(f"{tracker['clear'][way]} ({way})" for way in WAYS) + "; verdict or reading (> 1 cent) "
             f"changed: {', '.join(tracker['changed']) or 'none'}.", "", *records_table(results["records"], WAYS)]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in-domain", type=int, default=500, help="held-out prior-2 patches scanned (default 500)")
    parser.add_argument("--control", type=int, default=5,
                        help="held-out patches with a clear pitch both ways, answered both ways too (default 5)")
    parser.add_argument("--first", type=int, default=0,
                        help="the first held-out patches, pitched or not, answered both ways too (default 0)")
    parser.add_argument("--out", type=Path, default=RESULTS / "high_pitch")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tracker = tracker_check(folder)
        differ, same, leading, largest = in_domain(folder / "in_domain", args.in_domain, args.control, args.first)
        sets = {"high notes": high_notes(folder / "high"), "in-domain": differ, "in-domain, clear both ways": same,
                f"in-domain, first {args.first}": leading}
        records = answers({name: targets for name, targets in sets.items() if targets}, args.out / "records.jsonl",
                          WAYS, tracking)
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records, WAYS),
               "in_domain": {"scanned": args.in_domain, "verdict_differs": len(differ), "largest_cents": largest},
               "tracker": tracker}
    json_path, md_path = write_results(args.out, "high_pitch", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
