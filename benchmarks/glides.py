"""Glides: ``inverse predict`` with its glide candidates (:mod:`inverse.glide`, the default) against without them, in
the same run on the same targets.

    python benchmarks/glides.py [--in-domain 12] [--out benchmarks/results/glides]

A sound whose pitch moves (a synthesized kick or tom dropping, a riser, a zap) is something the synth makes with its
pitch envelope, but such a target has no clear pitch, so it got no plain candidates, and the pool rarely held a bend
that follows it. With the default, the envelope's curve fitted to the target's pitch track bends plain patches that
join the pool; "without" answers as before (no glide read, so no glide candidates).

Targets, each answered from its WAV file (``inverse predict FILE --samples 10``) both ways:

- **sox sweeps**: 10 sweeps of sox's waveforms up and down, linear and exponential in frequency, 2-20 semitones over
  0.4-3 s (none of them a sweep tried while the fit was written);
- **sox drums**: 4 sine and triangle drops of 0.35-0.7 s with a decaying level (kicks, an 808-like bass, toms);
- **fluidsynth drums**: General MIDI's Melodic Tom (117) and Synth Drum (118) at three notes each and the standard
  kit's four toms, by fluidsynth with FluidR3_GM (whether each glides is the fit's to say: the table lists what it
  read);
- **guards**: the first ``--guard`` of the benchmarks' single sounds (20 sox notes, 20 fluidsynth notes, 20 espeak-ng
  phrases) in which a glide is read (speech's intonation often is), and the first ``--in-domain`` held-out prior-2
  patches (seed 3) in which one is: where the glide candidates could take the place of better ones.

And the fit alone: how many of those 60 single sounds and of the 500 held-out patches read as a glide (only those get
glide candidates; the others answer as before, bit for bit), and of the held-out patches how many bend by more than 2
semitones. Judged per answer as in ``short_pitch.py`` (best-of-10 MSS, diversity, seconds) and by the pitch track:
the median |cents| between the first candidate's and the target's CREPE pitch over the frames periodic in both, and
how many of the ten follow the target within 100 cents that way. Records go to ``records.jsonl`` as each target is
answered (a rerun skips those there); ``glides.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import math
import statistics
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
    missing_tools,
    render_midi,
    single_note_midi,
    single_sounds,
)
from short_pitch import answer_table, answers, judge, summary  # noqa: E402

import inverse.sampling  # noqa: E402
from inverse.glide import estimate_glide  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.params import PARAM_INDEX  # noqa: E402
from synth.pitch import pitch_track  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

WAYS = ("glide candidates", "without")
HELD_OUT_SEED = 3
#: (sox waveform, start Hz, end Hz, sweep: "-" linear or ":" exponential in frequency, seconds).
SOX_SWEEPS = [("sine", 400, 1200, ":", 3.0), ("sawtooth", 110, 440, ":", 2.0), ("square", 880, 220, ":", 1.5),
              ("triangle", 600, 250, "-", 1.0), ("sawtooth", 1500, 300, ":", 0.4), ("square", 100, 300, "-", 3.0),
              ("sine", 1000, 500, ":", 0.6), ("triangle", 200, 600, ":", 1.2), ("sawtooth", 250, 180, "-", 2.0),
              ("sine", 500, 560, "-", 2.0)]
#: The same for drums, whose level decays over the whole sound (sox's logarithmic fade).
SOX_DRUMS = [("sine", 180, 50, ":", 0.4), ("sine", 120, 40, ":", 0.7), ("triangle", 300, 120, ":", 0.5),
             ("sine", 260, 140, ":", 0.35)]
FLUIDSYNTH_PROGRAMS = [(117, note) for note in (45, 52, 60)] + [(118, note) for note in (45, 52, 60)]
KIT_TOMS = (41, 45, 48, 50)  # low floor, low, hi-mid and high tom
FOLLOW_CENTS = 100.0  # a candidate follows the target's pitch where its median |cents| over shared frames is within


def sox_sweeps(folder: Path) -> list[tuple[str, Path, float]]:
    """:data:`SOX_SWEEPS` and :data:`SOX_DRUMS` by ``sox synth`` at 16 kHz: ``[(name, path, NaN)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind, sweeps in (("sweep", SOX_SWEEPS), ("drum", SOX_DRUMS)):
        for shape, start, end, sweep, seconds in sweeps:
            path = folder / f"sox_{kind}_{shape}_{start}{'to' if sweep == '-' else 'exp'}{end}.wav"
            fade = ["fade", "l", "0.002", str(seconds), f"{seconds - 0.005:.3f}"] if kind == "drum" else \
                ["fade", "0.005", str(seconds), "0.05"]
            subprocess.run(["sox", "-n", "-r", "16000", "-b", "16", str(path), "synth", str(seconds), shape,
                            f"{start}{sweep}{end}", "gain", "-n", "-6", *fade], check=True, capture_output=True)
            out.append((path.stem, path, math.nan))
    return out


def fluidsynth_drums(folder: Path) -> list[tuple[str, Path, float]]:
    """:data:`FLUIDSYNTH_PROGRAMS` (1 s) and the kit's :data:`KIT_TOMS` by fluidsynth at 16 kHz."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for program, note in FLUIDSYNTH_PROGRAMS:
        name = f"fluidsynth_gm{program:03d}_n{note}"
        render_midi(single_note_midi(program, note, seconds=1.0), folder / f"{name}.mid", folder / f"{name}.wav")
        out.append((name, folder / f"{name}.wav", math.nan))
    for note in KIT_TOMS:
        name = f"fluidsynth_drum_n{note}"
        render_midi(single_note_midi(0, note, seconds=1.0, channel=9), folder / f"{name}.mid", folder / f"{name}.wav")
        out.append((name, folder / f"{name}.wav", math.nan))
    return out


@contextmanager
def glides_way(way: str):
    """Within the block, ``predict`` reads no glide (so adds no glide candidates) where ``way`` is "without"."""
    if way == WAYS[1]:
        inverse.sampling.estimate_glide = lambda audio, **_: None
    try:
        yield
    finally:
        inverse.sampling.estimate_glide = estimate_glide


def guards(folder: Path, count: int) -> tuple[list, list[str], int]:
    """The first ``count`` of the 60 single sounds in which a glide is read, the names of all such, and 60."""
    singles = single_sounds(folder)
    read = [(name, path) for name, path in singles if estimate_glide(load_any_target(path, downmix=True).audio)]
    return [(name, path, math.nan) for name, path in read[:count]], [name for name, _ in read], len(singles)


def in_domain(folder: Path, count: int, scan: int = 500) -> tuple[list, dict]:
    """The first ``count`` of the first ``scan`` held-out prior-2 patches in which a glide is read, as float WAVs
    ``[(name, path, NaN)]``, and counts: read, patches bending by more than 2 semitones, and those of them read."""
    params = draw(HELD_OUT_SEED, 0, scan, prior="2")
    amount = (params[:, PARAM_INDEX["pitch_env_amount"]] - 0.5) * 48.0  # semitones (the range is -24..24)
    folder.mkdir(parents=True, exist_ok=True)
    chosen, read = [], []
    for start in range(0, scan, 50):
        audio = render(params[start: start + 50])
        for k in range(len(audio)):
            if estimate_glide(audio[k]) is None:
                continue
            read.append(start + k)
            if len(chosen) < count:
                path = folder / f"row{start + k:03d}.wav"
                soundfile.write(path, audio[k].numpy(), DEFAULT_CONFIG.sample_rate, subtype="FLOAT")
                chosen.append((path.stem, path, math.nan))
    bending = set(torch.nonzero(amount.abs() > 2.0).flatten().tolist())
    return chosen, {"scanned": scan, "read": len(read), "bending": len(bending),
                    "bending_read": len(bending & set(read))}


def track_cents(candidate: torch.Tensor, target: tuple[torch.Tensor, torch.Tensor]) -> float:
    """Median |cents| between ``candidate``'s (``Tensor[N]``) pitch track and ``target``'s (``pitch_track``'s
    times and Hz) over the frames periodic in both; inf where they share none."""
    times, hz = pitch_track(candidate)
    theirs = {round(float(t) * 1000): float(f) for t, f in zip(*target)}
    gaps = [abs(1200 * math.log2(float(f) / theirs[key])) for t, f in zip(times, hz)
            if (key := round(float(t) * 1000)) in theirs]
    return statistics.median(gaps) if gaps else math.inf


def judged(prediction, f0_hz: float, seconds: float, name: str) -> dict:
    record = judge(prediction, f0_hz, seconds)
    glide = estimate_glide(prediction.target.audio)
    record["glide"] = None if glide is None else {"note": round(glide.note, 2), "amount": round(glide.amount, 2),
                                                  "decay_s": round(glide.decay_s, 4),
                                                  "residual": round(glide.residual, 3), "move": round(glide.move, 2)}
    target = pitch_track(prediction.target.audio)
    gaps = [track_cents(audio, target) for audio in prediction.candidates.audio]
    record["first_track_cents"] = gaps[0] if math.isfinite(gaps[0]) else None
    record["following"] = sum(g <= FOLLOW_CENTS for g in gaps)
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guard", type=int, default=9, help="single sounds read as glides answered both ways")
    parser.add_argument("--in-domain", type=int, default=12,
                        help="held-out patches read as glides answered both ways (default 12)")
    parser.add_argument("--out", type=Path, default=RESULTS / "glides")
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
        sets = {"sox sweeps and drums": sox_sweeps(folder / "sox"),
                "fluidsynth drums": fluidsynth_drums(folder / "fluidsynth"),
                "single sounds read as glides": guarded, "in-domain read as glides": domain}
        records = answers(sets, args.out / "records.jsonl", WAYS, glides_way, judged)
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records, WAYS),
               "singles": {"count": singles, "read": read_singles}, "in_domain": scan}
    json_path, md_path = write_results(args.out, "glides", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    lines = ["# Glides: `inverse predict` with glide candidates against without them", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target answered by the shipped default (`inverse predict FILE --samples 10`) each way. Change: "
             "mean(with) / mean(without) - 1 of the best-of-10 MSS with its 95 % bootstrap interval over targets.", "",
             *answer_table(results["summary"], WAYS), "",
             f"Following the target's pitch track (CREPE, frames periodic in both): the first candidate's median "
             f"|cents| (mean over targets, those with shared frames) and how many of the ten are within "
             f"{FOLLOW_CENTS:.0f} cents that way:", "",
             "| set | targets | way | first: median cents (mean) | ten following |", "|---|---:|---|---:|---:|"]
    for set_name in dict.fromkeys(r["set"] for r in results["records"]):
        rows = [r for r in results["records"] if r["set"] == set_name]
        for way in WAYS:
            cents = [r[way]["first_track_cents"] for r in rows if r[way]["first_track_cents"] is not None]
            mean = f"{statistics.fmean(cents):.0f} ({len(cents)})" if cents else "-"
            lines.append(f"| {set_name} | {len(rows)} | {way} | {mean} | "
                         f"{sum(r[way]['following'] for r in rows)}/{10 * len(rows)} |")
    singles, scan = results["singles"], results["in_domain"]
    lines += ["", f"The fit alone: of {singles['count']} single sounds (20 sox notes, 20 fluidsynth notes, 20 "
              f"espeak-ng phrases) {len(singles['read'])} read as a glide ({', '.join(singles['read']) or 'none'}); "
              f"of the first {scan['scanned']} held-out prior-2 patches {scan['read']}, and of the {scan['bending']} "
              f"of them whose pitch envelope bends by more than 2 semitones {scan['bending_read']}.", "",
              "| set | target | glide read (note, semitones, decay s, residual) | " + " | ".join(
                  f"{way}: best MSS, first's cents, following" for way in WAYS) + " |", "|---|---|---|---:|---:|"]
    for r in results["records"]:
        g = r[WAYS[0]]["glide"]
        read = "-" if g is None else f"{g['note']:.1f}, {g['amount']:+.1f}, {g['decay_s']:.3f}, {g['residual']:.2f}"
        cells = []
        for way in WAYS:
            j = r[way]
            cents = "-" if j["first_track_cents"] is None else f"{j['first_track_cents']:.0f}"
            cells.append(f"{j['best_mss']:.4f}, {cents}, {j['following']}")
        lines.append(f"| {r['set']} | {r['name']} | {read} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
