"""Bass notes: ``inverse predict`` on notes from E1 to E2, with and without the fine pitch (``--fine-pitch``).

    python benchmarks/low_notes.py [--fine-pitch 1] [--out benchmarks/results/low_notes]

Targets (none of issue 13's benchmark sets goes below A2, 110 Hz): fluidsynth (FluidR3_GM) playing General MIDI
programs 32 (acoustic bass), 33 (finger bass), 38 (synth bass 1) and 87 (bass + lead) on E1, A1, C2 and E2 (MIDI 28,
33, 36, 40; 2.5 s), and sox's sawtooth, square and sine on E1, A1 and C2 (3 s, as the issue's sox notes). Each is
answered by the shipped model with the defaults (10 candidates) and again with ``--fine-pitch N``, in one process,
same seed; per target: the best-of-10 MSS (``synth.perceptual.mss_distance``), the diversity of the ten
(``inverse.metrics.diversity``), how many of the ten are within 50 cents of the target's CREPE pitch, and the answer's
seconds. ``low_notes.{json,md}`` are written at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from external_sounds import _sox_synth, missing_tools, render_midi, single_note_midi  # noqa: E402

from inverse.metrics import diversity  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.refine import RefineConfig  # noqa: E402
from synth.pitch import estimate_pitch, pitch_agreement  # noqa: E402

PROGRAMS = (32, 33, 38, 87)
NOTES = (28, 33, 36, 40)  # E1, A1, C2, E2
SOX = (("E1", -41), ("A1", -36), ("C2", -33))  # semitones from A4
WAVES = ("sawtooth", "square", "sine")


def low_notes(folder: Path) -> list[tuple[str, Path]]:
    """The fluidsynth and sox bass notes, written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for program in PROGRAMS:
        for note in NOTES:
            path = folder / f"gm{program:03d}_n{note}.wav"
            render_midi(single_note_midi(program, note, seconds=2.5), folder / f"gm{program:03d}_{note}.mid", path)
            out.append((path.stem, path))
    for wave in WAVES:
        for name, semitones in SOX:
            path = folder / f"sox_{wave}_{name}.wav"
            _sox_synth(path, "synth", "3", wave, f"%{semitones}", "fade", "0.01", "3", "0.8", "gain", "-6")
            out.append((path.stem, path))
    return out


def answer(predictor: Predictor, path: Path, fine_pitch: int) -> dict:
    """The defaults' answer for ``path`` with ``fine_pitch`` candidates tuned, judged."""
    started = time.perf_counter()
    prediction = predictor.predict(str(path), 10, refine=RefineConfig(fine_pitch=fine_pitch))
    seconds = time.perf_counter() - started
    c = prediction.candidates
    target_hz = prediction.target.pitch_hz
    record = {"best_mss": round(float(c.mss.min()), 4), "diversity": round(diversity(c.params), 4),
              "seconds": round(seconds, 1), "target_hz": round(target_hz, 2)}
    if target_hz == target_hz:  # a clear pitch
        pitches = estimate_pitch(c.audio).f0_hz
        record["on_pitch"] = int(pitch_agreement(pitches, torch.full_like(pitches, target_hz))["match"].sum())
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fine-pitch", type=int, default=1, help="candidates tuned in the second answer (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS / "low_notes")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    started, load_start = time.perf_counter(), load_average()
    predictor = Predictor.from_checkpoint()
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in low_notes(Path(tmp)):
            record = {"name": name, "default": answer(predictor, path, RefineConfig.fine_pitch),
                      "fine_pitch": answer(predictor, path, args.fine_pitch)}
            records.append(record)
            before, after = record["default"]["best_mss"], record["fine_pitch"]["best_mss"]
            print(f"{name}: best-of-10 MSS {before:.3f} -> {after:.3f}", flush=True)
    results = {"command": command_line(), "commit": git_commit(), "load_average": [load_start, load_average()],
               "machine": machine_info(), "seconds": round(time.perf_counter() - started),
               "fine_pitch": args.fine_pitch, "default_fine_pitch": RefineConfig.fine_pitch, "records": records}
    json_path, md_path = write_results(args.out, "low_notes", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    n = results["fine_pitch"]
    lines = ["# Bass notes: `inverse predict` with and without the fine pitch", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average "
             f"{results['load_average'][0]} -> {results['load_average'][1]}, {results['seconds']} s). Defaults "
             f"(`--fine-pitch {results['default_fine_pitch']}`) against `--fine-pitch {n}`, same seed, one "
             "process.", "",
             "| target | pitch (Hz) | best-of-10 MSS | with the fine pitch | change | diversity | with it | "
             "on the pitch (of 10) | with it | seconds | with it |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["records"]:
        a, b = r["default"], r["fine_pitch"]
        lines.append(f"| {r['name']} | {a['target_hz']} | {a['best_mss']:.3f} | {b['best_mss']:.3f} | "
                     f"{100 * (b['best_mss'] / a['best_mss'] - 1):+.1f} % | {a['diversity']:.3f} | "
                     f"{b['diversity']:.3f} | {a.get('on_pitch', '-')} | {b.get('on_pitch', '-')} | {a['seconds']} | "
                     f"{b['seconds']} |")
    for group, prefix in (("fluidsynth", "gm"), ("sox", "sox")):
        rows = [r for r in results["records"] if r["name"].startswith(prefix)]
        if not rows:
            continue
        before = statistics.mean(r["default"]["best_mss"] for r in rows)
        after = statistics.mean(r["fine_pitch"]["best_mss"] for r in rows)
        better = sum(r["fine_pitch"]["best_mss"] < r["default"]["best_mss"] for r in rows)
        worse = sum(r["fine_pitch"]["best_mss"] > r["default"]["best_mss"] for r in rows)
        div_a = statistics.mean(r["default"]["diversity"] for r in rows)
        div_b = statistics.mean(r["fine_pitch"]["diversity"] for r in rows)
        lines += ["", f"{group} ({len(rows)}): best-of-10 MSS {before:.3f} -> {after:.3f} "
                      f"({100 * (after / before - 1):+.1f} %; {better} better, {worse} worse), diversity "
                      f"{div_a:.3f} -> {div_b:.3f} ({100 * (div_b / div_a - 1):+.1f} %)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
