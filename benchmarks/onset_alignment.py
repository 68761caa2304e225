"""Onset alignment of audio targets: where :func:`inverse.onset.lead_in` finds a lead-in (and where it must not), and
what reading past it does to ``inverse predict``'s answers.

    python benchmarks/onset_alignment.py [--per-source 8] [--detector-rows 2048]
        [--out benchmarks/results/onset_alignment]

1. **Detector.** ``lead_in`` on ``--detector-rows`` renders of each of the synth's priors (seed 9: every patch
   starts at 0 s, so every lead-in found there is a false one), on the first 20 sounds each of sox, fluidsynth and
   espeak-ng as the held-out benchmark makes them (:mod:`benchmarks.external_sounds`), and on the same 60 sounds,
   scaled to peak at -6 dBFS, after a lead-in of 0.125-1 s (uniform, seed 0) of digital silence or of steady white
   noise at -70, -60, -50 and -40 dBFS: how many lead-ins are skipped to within 0.1 s, and how late the latest
   found start is.
2. **Answers.** The first ``--per-source`` of those sounds of each source, written as 16 kHz WAVs three ways: on
   time, and after a lead-in of 0.125-1 s (alternately digital silence and white noise at -60 dBFS, the noise then
   under the whole sound, on time too) read with and without alignment (``--no-align``). Each is answered by the
   shipped default (``inverse predict --samples 10``); the ten returned are judged against the sound *on time*:
   best-of-10 multi-scale spectral distance (MSS), and where the sound has a clear pitch (CREPE), whether the
   first candidate is within 50 cents of it.

Records go to ``records.jsonl`` as each sound is answered (a rerun skips those there); ``onset_alignment.{json,md}``
at the end.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
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
from external_sounds import espeak_phrases, fluidsynth_notes, missing_tools, sox_notes  # noqa: E402
from inverse_quality import paired_change  # noqa: E402

from inverse.onset import lead_in  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.inputs import load_audio  # noqa: E402
from synth.perceptual import features, mss_distance  # noqa: E402
from synth.pitch import estimate_pitch, pitch_agreement  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

RATE = DEFAULT_CONFIG.sample_rate
PEAK = 0.5  # -6 dBFS
NOISE_DBFS = (-70, -60, -50, -40)
SOURCES = (("sox", sox_notes), ("fluidsynth", fluidsynth_notes), ("espeak-ng", espeak_phrases))
WAYS = ("on time", "lead-in, aligned", "lead-in, --no-align")


def external_sounds(folder: Path, count: int) -> list[tuple[str, str, torch.Tensor]]:
    """The first ``count`` sounds of each source as (source, name, ``Tensor[N]`` at 16 kHz peaking at -6 dBFS)."""
    sounds = []
    for source, make in SOURCES:
        (folder / source).mkdir(parents=True, exist_ok=True)
        for name, path in make(folder / source, count):
            audio, _ = load_audio(path, downmix=True)
            sounds.append((source, name, audio * (PEAK / float(audio.abs().max()))))
    return sounds


def with_lead_in(audio: torch.Tensor, samples: int, noise_dbfs: float | None, generator: torch.Generator
                 ) -> torch.Tensor:
    """``audio`` after ``samples`` of silence, under steady white noise at ``noise_dbfs`` (RMS; None: none), the
    whole as long as ``audio`` plus the lead-in."""
    out = torch.cat([torch.zeros(samples), audio])
    if noise_dbfs is not None:
        out = out + torch.randn(out.numel(), generator=generator) * 10.0 ** (noise_dbfs / 20.0)
    return out


def detector(sounds: list[tuple[str, str, torch.Tensor]], rows: int) -> dict:
    found = {}
    for prior in ("1", "2"):
        params = draw(9, 0, rows, prior=prior)
        audio = torch.cat([render(params[i: i + 128]) for i in range(0, rows, 128)])
        skips = [lead_in(a) / RATE for a in audio]
        found[f"prior {prior}"] = {"rows": rows, "lead_ins": sum(s > 0 for s in skips),
                                   "seconds": sorted(s for s in skips if s > 0)}
    own = [lead_in(audio) for _, _, audio in sounds]
    found["external, as made"] = {"rows": len(sounds), "lead_ins": sum(s > 0 for s in own),
                                  "seconds": sorted(s / RATE for s in own if s > 0)}
    generator = torch.Generator().manual_seed(0)
    for noise in (None, *NOISE_DBFS):
        errors = []
        for (_, _, audio), before in zip(sounds, own):
            pad = int(torch.randint(RATE // 8, RATE, (1,), generator=generator))
            padded = with_lead_in(audio, pad, noise, generator)[: DEFAULT_CONFIG.num_samples]
            errors.append((lead_in(padded) - pad - before) / RATE)
        label = "after digital silence" if noise is None else f"after white noise at {noise} dBFS"
        found[label] = {"rows": len(sounds), "skipped": sum(e > -0.1 for e in errors),
                        "latest_s": max(errors), "median_error_s": statistics.median(errors)}
    return found


def answers(sounds: list[tuple[str, str, torch.Tensor]], per_source: int, folder: Path, records_path: Path) -> list:
    done = {record["name"]: record for record in read_records(records_path)}
    chosen = [s for k, s in enumerate(sounds) if k % 20 < per_source]
    generator = torch.Generator().manual_seed(1)
    predictor = None
    records = []
    for k, (source, name, audio) in enumerate(chosen):
        pad = int(torch.randint(RATE // 8, RATE, (1,), generator=generator))
        noise = None if k % 2 == 0 else -60.0
        padded = with_lead_in(audio, pad, noise, generator)
        if name in done:
            records.append(done[name])
            continue
        predictor = predictor or Predictor.from_checkpoint()
        on_time, late = folder / f"{name}.on_time.wav", folder / f"{name}.late.wav"
        soundfile.write(on_time, padded[pad:].numpy(), RATE, subtype="FLOAT")  # the same sound (and noise) on time
        soundfile.write(late, padded.numpy(), RATE, subtype="FLOAT")
        reference = load_any_target(on_time)
        target_hz = reference.pitch_hz
        record = {"source": source, "name": name, "lead_in_s": pad / RATE, "noise_dbfs": noise,
                  "target_hz": None if math.isnan(target_hz) else target_hz}
        for way, path, align in zip(WAYS, (on_time, late, late), (True, True, False)):
            start = time.perf_counter()
            prediction = predictor.predict(path, 10, align=align)
            seconds = time.perf_counter() - start
            audio_out = prediction.candidates.audio
            mss = mss_distance(features(audio_out), reference.features)
            first_hz = float(estimate_pitch(audio_out[:1]).f0_hz[0])
            agrees = None
            if not math.isnan(target_hz):
                agrees = bool(pitch_agreement(torch.tensor([first_hz]), torch.tensor([target_hz]))["match"][0])
            record[way] = {"best_mss": float(mss.min()), "mean_mss": float(mss.mean()), "first_on_pitch": agrees,
                           "notes": prediction.target.notes, "seconds": seconds}
        append_record(records_path, record)
        records.append(record)
        print(f"{source} {name}: " + ", ".join(f"{way} {record[way]['best_mss']:.3f}" for way in WAYS)
              + f"; aligned: {'; '.join(record[WAYS[1]]['notes']) or 'no note'}", flush=True)
    return records


def summary(records: list[dict]) -> dict:
    """Per way: mean best-of-10 MSS and first-candidate pitch; the relative changes as the other benchmarks report
    them (``mean(ours) / mean(base) - 1``, :func:`inverse_quality.change_interval`), targets paired."""
    best = {way: [r[way]["best_mss"] for r in records] for way in WAYS}
    out = {}
    for way in WAYS:
        pitched = [r[way]["first_on_pitch"] for r in records if r[way]["first_on_pitch"] is not None]
        out[way] = {"best_mss": statistics.fmean(best[way]), "first_on_pitch": sum(pitched), "pitched": len(pitched)}

    def change(ours: str, base: str) -> dict:
        return paired_change(best[ours], best[base])
    for way in WAYS[1:]:
        out[way]["vs_on_time"] = change(way, WAYS[0])
    out["aligned_vs_no_align"] = change(WAYS[1], WAYS[2])
    return out


def markdown(results: dict) -> str:
    lines = ["# Onset alignment of audio targets", "", f"Command: `{results['command']}` (commit "
             f"{results['commit']}, load average {results['load_average']})", "",
             "## Detector (`inverse.onset.lead_in`)", "", "| sounds | count | lead-ins found / skipped | detail |",
             "|---|---:|---:|---|"]
    for label, row in results["detector"].items():
        if "lead_ins" in row:
            detail = ", ".join(f"{s * 1000:.0f} ms" for s in row["seconds"]) or "-"
            lines.append(f"| {label} | {row['rows']} | {row['lead_ins']} found | {detail} |")
        else:
            lines.append(f"| {label} | {row['rows']} | {row['skipped']} skipped (within 0.1 s) | latest start "
                         f"{row['latest_s'] * 1000:+.1f} ms, median {row['median_error_s'] * 1000:+.1f} ms |")
    s = results["summary"]
    lines += ["", f"## `inverse predict` on {len(results['records'])} sounds", "",
              "| target | best-of-10 MSS vs the sound on time | vs on time | first candidate on the pitch |",
              "|---|---:|---:|---:|"]
    for way in WAYS:
        row = s[way]
        change = row.get("vs_on_time")
        rel = "-" if change is None else (f"{change['mean'] * 100:+.1f} % ({change['interval'][0] * 100:+.1f} .. "
                                          f"{change['interval'][1] * 100:+.1f})")
        lines.append(f"| {way} | {row['best_mss']:.3f} | {rel} | {row['first_on_pitch']}/{row['pitched']} |")
    a = s["aligned_vs_no_align"]
    lines += ["", f"Aligned against `--no-align` on the same files: {a['mean'] * 100:+.1f} % "
              f"({a['interval'][0] * 100:+.1f} .. {a['interval'][1] * 100:+.1f} %), better on {a['better']}, worse on "
              f"{a['worse']}.", "", "| source | sound | lead-in | noise | on time | aligned | --no-align |",
              "|---|---|---:|---|---:|---:|---:|"]
    for r in results["records"]:
        noise = "silence" if r["noise_dbfs"] is None else f"{r['noise_dbfs']:g} dBFS"
        lines.append(f"| {r['source']} | {r['name']} | {r['lead_in_s']:.3f} s | {noise} | "
                     + " | ".join(f"{r[way]['best_mss']:.3f}" for way in WAYS) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-source", type=int, default=8, help="sounds per source answered (default 8)")
    parser.add_argument("--detector-rows", type=int, default=2048, help="prior renders per prior (default 2048)")
    parser.add_argument("--out", type=Path, default=RESULTS / "onset_alignment")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sounds = external_sounds(folder, 20)
        found = detector(sounds, args.detector_rows)
        records = answers(sounds, args.per_source, folder, args.out / "records.jsonl")
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "detector": found, "records": records, "summary": summary(records)}
    json_path, md_path = write_results(args.out, "onset_alignment", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
