"""Vibrato and tremolo: ``inverse predict`` with its modulation candidates (:mod:`inverse.modulation`, the default)
against without them, in the same run on the same targets.

    python benchmarks/modulation.py [--guard 6] [--in-domain 8] [--out benchmarks/results/modulation]

A note whose pitch or level swings periodically (a violin's or a singer's vibrato, a tremolo guitar or organ) is
something the synth makes with its LFOs, but an LFO's rate and phase are what gradient refinement cannot find, and
the pool rarely holds a patch whose LFO runs in step with the target's. With the default, a sinusoid fitted to the
target's pitch track and level sets the LFOs of copies of the best pool rows and of the refined candidates; "without"
answers as before (no swing read, so no such copies).

Targets, each answered from its WAV file (``inverse predict FILE --samples 10``) both ways:

- **sox tremolo**: sox's waveforms at several notes under its ``tremolo`` effect, 3-9 Hz, 40-80 % deep;
- **fluidsynth vibrato**: General MIDI programs (organ, strings, brass, reeds, flute) with the modulation wheel up,
  by fluidsynth with FluidR3_GM (SoundFont 2's default vibrato, ~8.2 Hz, up to 50 cents);
- **guards**: the first ``--guard`` of the benchmarks' single sounds (20 sox notes, 20 fluidsynth notes, 20 espeak-ng
  phrases) in which a swing is read, and the first ``--in-domain`` held-out prior-2 patches (seed 3) in which one is:
  where the modulation candidates could take the place of better ones.

And the fit alone: how many of those 60 single sounds and of the first 500 held-out patches read as a vibrato or a
tremolo (only those get modulation candidates; the others answer as before, bit for bit). Judged per answer as in
``short_pitch.py`` (best-of-10 MSS, diversity, seconds) and by how many of the ten swing like the target: a swing read
off the candidate (the same fit) within 15 % of the target's rate. Records go to ``records.jsonl`` as each target is
answered (a rerun skips those there); ``modulation.{json,md}`` at the end.
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
    _sox_synth,
    missing_tools,
    render_midi,
    single_sounds,
    vibrato_note_midi,
)
from short_pitch import answer_table, answers, judge, summary  # noqa: E402

import inverse.target  # noqa: E402
from inverse.modulation import Swing, estimate_tremolo, estimate_vibrato  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

WAYS = ("modulation candidates", "without")
HELD_OUT_SEED = 3
#: (sox waveform, note, tremolo Hz, depth %, seconds).
SOX_TREMOLO = [("sawtooth", "A3", 5.0, 70, 3.0), ("square", "E3", 3.0, 50, 3.5), ("sine", "C4", 7.0, 80, 2.5),
               ("triangle", "G4", 4.0, 40, 3.0), ("sawtooth", "C3", 9.0, 60, 3.0), ("square", "A4", 6.0, 60, 2.0),
               ("sine", "E2", 3.5, 70, 3.5), ("trapezium", "D4", 5.5, 50, 3.0)]
#: (General MIDI program, note): organ, violin, cello, trumpet, oboe, clarinet, flute, harmonica with the wheel up.
FLUIDSYNTH_VIBRATO = [(19, 55), (40, 64), (42, 48), (56, 60), (68, 67), (71, 62), (73, 72), (22, 60)]
RATE_SHARE = 0.15  # a candidate swings like the target where its read rate is within this share of the target's


def sox_tremolo(folder: Path) -> list[tuple[str, Path, float]]:
    """:data:`SOX_TREMOLO` by ``sox synth ... tremolo`` at 16 kHz: ``[(name, path, NaN)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for shape, note, rate, depth, seconds in SOX_TREMOLO:
        path = folder / f"sox_tremolo_{shape}_{note}_{rate:g}hz_{depth}.wav"
        _sox_synth(path, "synth", str(seconds), shape, note, "gain", "-n", "-6", "tremolo", str(rate), str(depth),
                   "fade", "0.01", str(seconds), "0.05")
        out.append((path.stem, path, math.nan))
    return out


def fluidsynth_swings(folder: Path) -> list[tuple[str, Path, float]]:
    """:data:`FLUIDSYNTH_VIBRATO` (2.5 s, the wheel up) by fluidsynth at 16 kHz: ``[(name, path, NaN)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for program, note in FLUIDSYNTH_VIBRATO:
        name = f"fluidsynth_vibrato_gm{program:03d}_n{note}"
        render_midi(vibrato_note_midi(program, note, 2.5), folder / f"{name}.mid", folder / f"{name}.wav")
        out.append((name, folder / f"{name}.wav", math.nan))
    return out


def no_swing(audio: torch.Tensor, *args, **kwargs) -> None:
    return None


@contextmanager
def modulation_way(way: str):
    """Within the block, ``predict`` reads no vibrato or tremolo (so adds no modulation copies) where ``way`` is
    "without"."""
    if way == WAYS[1]:
        inverse.target.estimate_vibrato = inverse.target.estimate_tremolo = no_swing
    try:
        yield
    finally:
        inverse.target.estimate_vibrato, inverse.target.estimate_tremolo = estimate_vibrato, estimate_tremolo


def swings(audio: torch.Tensor) -> dict[str, Swing | None]:
    return {"vibrato": estimate_vibrato(audio), "tremolo": estimate_tremolo(audio)}


def read(audio: torch.Tensor) -> bool:
    return any(swing is not None for swing in swings(audio).values())


def guards(folder: Path, count: int) -> tuple[list, list[str], int]:
    """The first ``count`` of the 60 single sounds in which a swing is read, the names of all such, and 60."""
    singles = single_sounds(folder)
    found = [(name, path) for name, path in singles if read(load_any_target(path, downmix=True).audio)]
    return [(name, path, math.nan) for name, path in found[:count]], [name for name, _ in found], len(singles)


def in_domain(folder: Path, count: int, scan: int = 500) -> tuple[list, dict]:
    """The first ``count`` of the first ``scan`` held-out prior-2 patches in which a swing is read, as float WAVs
    ``[(name, path, NaN)]``, and how many of them read as a vibrato, as a tremolo."""
    params = draw(HELD_OUT_SEED, 0, scan, prior="2")
    folder.mkdir(parents=True, exist_ok=True)
    chosen, counts = [], {"scanned": scan, "vibrato": 0, "tremolo": 0, "either": 0}
    for start in range(0, scan, 50):
        audio = render(params[start: start + 50])
        for k in range(len(audio)):
            found = swings(audio[k])
            for kind, swing in found.items():
                counts[kind] += swing is not None
            if not any(swing is not None for swing in found.values()):
                continue
            counts["either"] += 1
            if len(chosen) < count:
                path = folder / f"row{start + k:03d}.wav"
                soundfile.write(path, audio[k].numpy(), DEFAULT_CONFIG.sample_rate, subtype="FLOAT")
                chosen.append((path.stem, path, math.nan))
    return chosen, counts


def _described(swing: Swing | None) -> dict | None:
    return None if swing is None else {"rate_hz": round(swing.rate_hz, 3), "depth": round(swing.depth, 2),
                                       "share": round(swing.share, 3)}


def judged(prediction, f0_hz: float, seconds: float, name: str) -> dict:
    record = judge(prediction, f0_hz, seconds)
    target = swings(prediction.target.audio)
    record["swings"] = {kind: _described(swing) for kind, swing in target.items()}
    swinging = 0
    for audio in prediction.candidates.audio:
        theirs = swings(audio)
        swinging += all(swing is None or (theirs[kind] is not None and abs(theirs[kind].rate_hz - swing.rate_hz)
                                          <= RATE_SHARE * swing.rate_hz) for kind, swing in target.items())
    record["swinging"] = swinging
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guard", type=int, default=6, help="single sounds read as swinging answered both ways")
    parser.add_argument("--in-domain", type=int, default=8,
                        help="held-out patches read as swinging answered both ways (default 8)")
    parser.add_argument("--out", type=Path, default=RESULTS / "modulation")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        guarded, read_singles, singles = guards(folder / "singles", args.guard)
        domain, scan = in_domain(folder / "in_domain", args.in_domain)
        sets = {"sox tremolo": sox_tremolo(folder / "sox"), "fluidsynth vibrato": fluidsynth_swings(
            folder / "fluidsynth"), "single sounds read as swinging": guarded, "in-domain read as swinging": domain}
        records = answers(sets, args.out / "records.jsonl", WAYS, modulation_way, judged)
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records, WAYS),
               "singles": {"count": singles, "read": read_singles}, "in_domain": scan}
    json_path, md_path = write_results(args.out, "modulation", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    lines = ["# Vibrato and tremolo: `inverse predict` with modulation candidates against without them", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target answered by the shipped default (`inverse predict FILE --samples 10`) each way. Change: "
             "mean(with) / mean(without) - 1 of the best-of-10 MSS with its 95 % bootstrap interval over targets.", "",
             *answer_table(results["summary"], WAYS), "",
             f"Swinging like the target: of the ten, those in which the same fit reads each swing the target has, at a "
             f"rate within {RATE_SHARE * 100:.0f} % of the target's.", "",
             "| set | targets | " + " | ".join(f"{way}: swinging" for way in WAYS) + " |", "|---|---:|---:|---:|"]
    for set_name in dict.fromkeys(r["set"] for r in results["records"]):
        rows = [r for r in results["records"] if r["set"] == set_name]
        lines.append(f"| {set_name} | {len(rows)} | " + " | ".join(
            f"{sum(r[way]['swinging'] for r in rows)}/{10 * len(rows)}" for way in WAYS) + " |")
    singles, scan = results["singles"], results["in_domain"]
    lines += ["", f"The fit alone: of {singles['count']} single sounds (20 sox notes, 20 fluidsynth notes, 20 "
              f"espeak-ng phrases) {len(singles['read'])} read as swinging ({', '.join(singles['read']) or 'none'}); "
              f"of the first {scan['scanned']} held-out prior-2 patches {scan['either']} ({scan['vibrato']} a vibrato, "
              f"{scan['tremolo']} a tremolo).", "",
              "| set | target | vibrato read (Hz, cents, share) | tremolo read (Hz, dB, share) | " + " | ".join(
                  f"{way}: best MSS, swinging" for way in WAYS) + " |", "|---|---|---|---|---:|---:|"]
    for r in results["records"]:
        found = r[WAYS[0]]["swings"]
        cells = ["-" if found[kind] is None else
                 f"{found[kind]['rate_hz']:.2f}, {found[kind]['depth']:.1f}, {found[kind]['share']:.2f}"
                 for kind in ("vibrato", "tremolo")]
        cells += [f"{r[way]['best_mss']:.4f}, {r[way]['swinging']}" for way in WAYS]
        lines.append(f"| {r['set']} | {r['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
