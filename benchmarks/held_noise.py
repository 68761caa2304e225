"""Held notes in longer noisy recordings: ``inverse predict --keep-noise`` against the default, which finds the
recording's floor in the whole file (lead-in and tail included) and gates it out of the window, in the same run on
the same targets; and where onset alignment finds a noisy lead-in, with and without the gate's second look.

    python benchmarks/held_noise.py [--count 10] [--out benchmarks/results/held_noise]

A note held through the 4.088 s window leaves no quiet frames in it, so a floor found only in the window is never
found under it (``benchmarks/results/noise_floor_20db/``). A recording of it has some: the room tone before the note
and after its release. Targets: ``--count`` General MIDI notes (the held-out benchmark's programs, middle C) held 5 s
after 0.5 s of silence, as fluidsynth renders them (7-12 s with the release), each with white noise at -50 dBFS or
pink noise at -45 dBFS over the whole file (alternately); judged against the clean file as ``predict`` reads it (its
silent lead-in skipped): best-of-10 MSS and the candidates on the clean note's pitch, as in ``noise_floor.py``.

Onset alignment (``inverse.target.load_any_target``): the held-out benchmark's first 20 sox, fluidsynth and espeak-ng
sounds after a lead-in of 0.125-1 s under white noise at -70 .. -40 dBFS (as ``onset_alignment.py`` makes them),
read with ``--keep-noise`` (the lead-in found in the sound as it is, as before) and by default (where that finds
none, looked for again with the floor gated out): how many are read from their onset (within 0.1 s).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import soundfile
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import (  # noqa: E402
    RESULTS,
    append_record,
    command_line,
    git_commit,
    load_average,
    machine_info,
    read_records,
    write_results,
)
from external_sounds import _GM_PROGRAMS, missing_tools, render_midi, single_note_midi  # noqa: E402
from noise_floor import WAYS, judge, noise, summary  # noqa: E402
from onset_alignment import NOISE_DBFS, RATE, external_sounds, with_lead_in  # noqa: E402

from inverse.onset import lead_in  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.audio_io import read_wav  # noqa: E402
from synth.pitch import estimate_pitch  # noqa: E402

LEAD_S, HELD_S, NOTE = 0.5, 5.0, 60


def held_notes(folder: Path, count: int) -> list[tuple[str, Path, Path, str]]:
    """``count`` notes held :data:`HELD_S` after :data:`LEAD_S` of silence, clean and under a noise floor over the
    whole file: ``[(name, clean path, noisy path, noise)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        program = _GM_PROGRAMS[k % len(_GM_PROGRAMS)]
        name = f"held_gm{program:03d}_n{NOTE}"
        rendered = folder / f"{name}_rendered.wav"
        render_midi(single_note_midi(program, NOTE, seconds=HELD_S), folder / f"{name}.mid", rendered)
        audio, _ = read_wav(rendered, RATE, downmix=True)
        clean = torch.cat([torch.zeros(round(LEAD_S * RATE)), audio])
        kind, level = ("white", -50.0) if k % 2 == 0 else ("pink", -45.0)
        paths = folder / f"{name}.wav", folder / f"{name}_{kind}.wav"
        soundfile.write(paths[0], clean.numpy(), RATE, subtype="FLOAT")
        soundfile.write(paths[1], (clean + noise(kind, level, 100 + k, clean.numel())).numpy(), RATE,
                        subtype="FLOAT")
        out.append((name, *paths, f"{kind} {level:g} dBFS"))
    return out


def answers(targets: list[tuple[str, Path, Path, str]], records_path: Path) -> list[dict]:
    done = {record["name"]: record for record in read_records(records_path)}
    predictor, records = None, []
    for name, clean_path, noisy_path, noise_label in targets:
        if name in done:
            records.append(done[name])
            continue
        clean = load_any_target(clean_path, downmix=True)
        estimate = estimate_pitch(clean.audio[None])
        clean_hz = float(estimate.f0_hz[0]) if bool(estimate.clear[0]) else math.nan
        predictor = predictor or Predictor.from_checkpoint()
        record = {"name": name, "noise": noise_label, "clean_hz": None if math.isnan(clean_hz) else clean_hz,
                  "clean_floor": None, "clean_start_s": clean.start_s}
        for way in WAYS:
            prediction = predictor.predict(str(noisy_path), 10, downmix=True, gate_noise=way == WAYS[1])
            record[way] = {**judge(prediction, clean, clean_hz), "start_s": prediction.target.start_s}
        append_record(records_path, record)
        records.append(record)
        print(f"{name} ({noise_label}): " + ", ".join(f"{way} {record[way]['best_mss']:.3f} from "
                                                       f"{record[way]['start_s']:.2f} s" for way in WAYS), flush=True)
    return records


def onsets(folder: Path) -> dict:
    """Per noise level: of the 60 sounds after a noisy lead-in, how many each way reads from their onset (within
    0.1 s), and the latest start each way read, in seconds after the onset."""
    sounds = external_sounds(folder, 20)
    own = [lead_in(audio) for _, _, audio in sounds]
    generator = torch.Generator().manual_seed(0)
    out = {}
    for level in NOISE_DBFS:
        errors = {way: [] for way in WAYS}
        for (_, name, audio), before in zip(sounds, own):
            pad = int(torch.randint(RATE // 8, RATE, (1,), generator=generator))
            path = folder / f"lead_{name}.wav"
            soundfile.write(path, with_lead_in(audio, pad, level, generator).numpy(), RATE, subtype="FLOAT")
            for way in WAYS:
                errors[way].append(load_any_target(path, gate_noise=way == WAYS[1]).start_s - (pad + before) / RATE)
        out[f"{level} dBFS"] = {"sounds": len(sounds), **{way: sum(e > -0.1 for e in errors[way]) for way in WAYS},
                                "latest_s": {way: max(errors[way]) for way in WAYS}}
    return out


def markdown(results: dict) -> str:
    s, c = results["summary"], results["summary"]["change"]
    lines = ["# Held notes in longer noisy recordings: `inverse predict --keep-noise` against the default", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each noisy recording answered by the shipped default both ways; judged against the clean "
             "recording as `predict` reads it. Change: mean(default) / mean(kept) - 1 of the best-of-10 MSS, 95 % "
             "bootstrap interval over targets.", "",
             f"Targets {s['targets']} ({s['pitched']} with a clear pitch); the default gated a floor out of "
             f"{s['gated']}.", "",
             "| way | best-of-10 MSS against the clean note | change | better / worse | first on pitch | "
             "on pitch of all 10 | read from the onset |", "|---|---:|---:|---:|---:|---:|---:|"]
    for way in WAYS:
        row, first = s[way], way == WAYS[1]
        change = f"{c['mean'] * 100:+.1f} % ({c['interval'][0] * 100:+.1f} .. {c['interval'][1] * 100:+.1f})"
        on_time = sum(abs(r[way]["start_s"] - r["clean_start_s"]) < 0.1 for r in results["records"])
        better = f"{c['better']} / {c['worse']}" if first else "-"
        lines.append(f"| {way} | {row['best_mss']:.3f} | {change if first else '-'} | {better} | "
                     f"{row['first_on_pitch']}/{s['pitched']} | {row['on_pitch']}/{10 * s['pitched']} | "
                     f"{on_time}/{s['targets']} |")
    lines += ["", "Onset alignment after a lead-in under white noise (read from the onset: within 0.1 s; the latest "
              "start read, after the onset):", "", "| noise | " + " | ".join(WAYS) + " |", "|---|---:|---:|"]
    for level, row in results["onsets"].items():
        lines.append(f"| {level} | " + " | ".join(f"{row[way]}/{row['sounds']} ({row['latest_s'][way] * 1000:+.0f} ms)"
                                                  for way in WAYS) + " |")
    lines += ["", "| target | noise | " + " | ".join(f"{way}: best MSS, on pitch, start" for way in WAYS) + " |",
              "|---|---|---:|---:|"]
    for r in results["records"]:
        lines.append(f"| {r['name']} | {r['noise']} | " + " | ".join(
            f"{r[way]['best_mss']:.3f}, {'-' if r[way]['on_pitch'] is None else r[way]['on_pitch']}, "
            f"{r[way]['start_s']:.2f} s" for way in WAYS) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10, help="held notes (default 10)")
    parser.add_argument("--out", type=Path, default=RESULTS / "held_noise")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        found = onsets(folder / "onsets")
        records = answers(held_notes(folder / "held", args.count), args.out / "records.jsonl")
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records), "onsets": found}
    json_path, md_path = write_results(args.out, "held_noise", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
