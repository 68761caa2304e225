"""An audio target's level out of the range patches play (floating-point samples beyond full scale, or a peak below
-40 dBFS): ``inverse predict`` with it brought into the range (:mod:`inverse.level`, the default) against matched as it
is, in the same run on the same targets, each answer judged against the note at full scale.

    python benchmarks/full_scale.py [--sox 6] [--fluidsynth 4] [--levels 6 12 24] [--out benchmarks/results/full_scale]
    python benchmarks/full_scale.py --levels -50 -60 -70 --level-free --out benchmarks/results/quiet_level

Targets: the benchmarks' sox notes and fluidsynth (General MIDI) notes, peak-normalised to full scale (0 dBFS), each
written as a 32-bit float WAV with its samples multiplied to every peak of ``--levels`` (dB re full scale: above it
as a hot float bounce or a model's unnormalised output holds them, or far below it). Each is answered from its WAV
file (``inverse predict FILE --samples 10``, every default) both ways: "scaled" as shipped, "kept" with the level left
as it is (:func:`inverse.level.level_gain` made 1.0). The ten are scored against the note at full scale: best-of-10
multi-scale log-mel distance (MSS); with ``--level-free`` each candidate is first scaled to the note's peak, so that
the timbre is judged, the level aside (a quiet answer is not worse for being quiet). Records go to ``records.jsonl``
as each target is answered (a rerun skips those there); ``full_scale.{json,md}`` at the end.
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
from short_pitch import WITHIN, answer_table, judge, records_table  # noqa: E402

import inverse.target  # noqa: E402
from inverse.level import level_gain  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.perceptual import features, mss_distance  # noqa: E402

WAYS = ("scaled", "kept")


def loud_notes(clean: list[tuple[str, Path]], levels: list[float], folder: Path) -> dict[str, list]:
    """Per level, every clean note at full scale with its samples multiplied to that peak (dB above full scale), as a
    float WAV: ``{level name: [(name, path, NaN)]}``; the note at full scale of each ``name`` in ``folder / clean``."""
    (folder / "clean").mkdir(parents=True, exist_ok=True)
    normalised = {}
    for name, path in clean:
        audio, rate = soundfile.read(path, dtype="float32")
        normalised[name] = audio / np.abs(audio).max(), rate
        soundfile.write(folder / "clean" / f"{name}.wav", *normalised[name], subtype="FLOAT")
    sets = {}
    for level in levels:
        out = folder / f"at{level:+g}dB"
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for name, (audio, rate) in normalised.items():
            loud = out / f"{name}.wav"
            soundfile.write(loud, audio * np.float32(10.0 ** (level / 20.0)), rate, subtype="FLOAT")
            rows.append((f"{name}@{level:+g}dB", loud, math.nan))
        sets[f"{level:+g} dBFS"] = rows
    return sets


@contextmanager
def level_way(way: str):
    """Within the block, audio targets keep their level where ``way`` is "kept"."""
    if way == WAYS[1]:
        inverse.target.level_gain = lambda audio: 1.0
    try:
        yield
    finally:
        inverse.target.level_gain = level_gain


def judged_level_free(folder: Path):
    """``answers``' judge: :func:`short_pitch.judge` with the best-of-10 MSS of the ten each scaled to the peak of the
    note at full scale (``folder / clean``), against it."""
    def judged(prediction, f0_hz: float, seconds: float, name: str) -> dict:
        clean = load_any_target(folder / "clean" / f"{name.split('@')[0]}.wav")
        audio = prediction.candidates.audio
        scaled = audio * (clean.audio.abs().max() / audio.abs().amax(dim=1, keepdim=True).clamp_min(1e-9))
        mss = mss_distance(features(scaled), clean.features)
        record = judge(prediction, f0_hz, seconds)
        record.update(best_mss=float(mss.min()), all_within=bool((mss <= WITHIN * mss.min()).all()))
        return record
    return judged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sox", type=int, default=6, help="sox notes (default 6)")
    parser.add_argument("--fluidsynth", type=int, default=4, help="fluidsynth notes (default 4)")
    parser.add_argument("--levels", type=float, nargs="+", default=[6.0, 12.0, 24.0],
                        help="peaks re full scale, dB (default 6 12 24)")
    parser.add_argument("--level-free", dest="level_free", action="store_true",
                        help="scale each candidate to the note's peak before it is judged")
    parser.add_argument("--out", type=Path, default=RESULTS / "full_scale")
    args = parser.parse_args()
    return notes_both_ways(args, "full_scale", lambda clean, folder: loud_notes(clean, args.levels, folder), WAYS,
                           level_way, judged_level_free if args.level_free else judged_against_clean, markdown)


def markdown(results: dict) -> str:
    lines = ["# A target's level out of the range patches play: brought into it (the default) against matched as it is",
             "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target (a clean note normalised to full scale, its float samples multiplied to another peak) "
             "answered by the shipped default (`inverse predict FILE --samples 10`) each way; the ten scored against "
             "the note at full scale (with `--level-free`: each scaled to its peak first). "
             "Change: mean(scaled) / mean(kept) - 1 of the best-of-10 MSS with its 95 % "
             "bootstrap interval over targets.", "", *answer_table(results["summary"], WAYS), "",
             *records_table(results["records"], WAYS)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
