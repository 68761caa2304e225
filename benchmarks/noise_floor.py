"""Notes recorded over a steady noise floor: ``inverse predict --keep-noise`` against the default, which gates the
floor out of the target first (:mod:`inverse.noise_floor`), in the same run on the same targets.

    python benchmarks/noise_floor.py [--per-source 8] [--out benchmarks/results/noise_floor]

Targets: the first ``--per-source`` sox notes and fluidsynth notes of the held-out benchmark (3 s and 2.5 s notes
and their releases in the 4.088 s window), each with a noise floor added over the whole window (seeded): white noise
at -50 dBFS for even targets, pink noise at -45 dBFS for odd ones (levels as mean square re a full-scale sine's).
Each noisy file is answered both ways by the shipped default; judged against the *clean* note: best-of-10 MSS, and
the first candidate and all ten within 50 cents of the clean note's pitch (CREPE). Also: whether the gate finds a
floor in the clean notes, and in the first ``--in-domain`` prior-2 patches of the held-out seed and of
``--other-seeds`` (and how far gating moves them).
Records go to ``records.jsonl`` as each target is answered.
"""

from __future__ import annotations

import argparse
import math
import statistics
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
from external_sounds import fluidsynth_notes, missing_tools, sox_notes  # noqa: E402
from inverse_quality import paired_change  # noqa: E402

from inverse.noise_floor import remove_floor  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.perceptual import mss_distance  # noqa: E402
from synth.pitch import estimate_pitch, pitch_agreement  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

WAYS = ("--keep-noise", "default (gated)")
HELD_OUT_SEED = 3  # the seed of inverse_quality's held-out in-domain targets


def noise(kind: str, level_dbfs: float, seed: int, samples: int = DEFAULT_CONFIG.num_samples) -> torch.Tensor:
    """``Tensor[samples]`` (65408 by default) of white or pink (1/f power) noise whose mean square is ``level_dbfs``
    re a full-scale sine's (0.5)."""
    white = torch.randn(samples, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if kind == "pink":
        spectrum = torch.fft.rfft(white)
        spectrum = spectrum / torch.arange(spectrum.numel(), dtype=torch.float64).clamp_min(1.0).sqrt()
        white = torch.fft.irfft(spectrum, n=white.numel())
    return (white * math.sqrt(0.5 * 10 ** (level_dbfs / 10)) / white.square().mean().sqrt()).float()


def in_domain_floors(scan: int, seed: int = HELD_OUT_SEED) -> list[dict]:
    """Where the gate finds a floor in the first ``scan`` prior-2 patches of ``seed`` (rendered): the row, the floor's
    level (dBFS) and how far gating moves the patch (MSS between it and its gated self)."""
    params = draw(seed, 0, scan, prior="2")
    found = []
    for start in range(0, scan, 50):
        for k, audio in enumerate(render(params[start: start + 50])):
            gated, floor = remove_floor(audio)
            if floor is not None:
                found.append({"row": start + k, "floor_dbfs": floor,
                              "mss_moved": float(mss_distance(gated[None], audio[None]))})
    return found


def judge(prediction, clean, clean_hz: float) -> dict:
    audio = prediction.candidates.audio
    mss = mss_distance(audio, clean.audio[None].expand(len(audio), -1))
    record = {"best_mss": float(mss.min()), "first_on_pitch": None, "on_pitch": None,
              "notes": [n for n in prediction.target.notes if "noise floor" in n]}
    if not math.isnan(clean_hz):
        found = pitch_agreement(estimate_pitch(audio).f0_hz, torch.full((len(audio),), clean_hz))["match"]
        record.update(first_on_pitch=bool(found[0]), on_pitch=int(found.sum()))
    return record


def answers(targets: list[tuple[str, Path]], folder: Path, records_path: Path) -> list[dict]:
    done = {record["name"]: record for record in read_records(records_path)}
    predictor, records = None, []
    for k, (name, path) in enumerate(targets):
        if name in done:
            records.append(done[name])
            continue
        clean = load_any_target(path, downmix=True)
        kind, level = ("white", -50.0) if k % 2 == 0 else ("pink", -45.0)
        noisy_path = folder / f"{name}_{kind}.wav"
        soundfile.write(noisy_path, (clean.audio + noise(kind, level, k)).numpy(), DEFAULT_CONFIG.sample_rate,
                        subtype="FLOAT")
        estimate = estimate_pitch(clean.audio[None])
        clean_hz = float(estimate.f0_hz[0]) if bool(estimate.clear[0]) else math.nan
        predictor = predictor or Predictor.from_checkpoint()
        record = {"name": name, "noise": f"{kind} {level:g} dBFS", "clean_hz": None if math.isnan(clean_hz) else
                  clean_hz, "clean_floor": remove_floor(clean.audio)[1]}
        for way in WAYS:
            prediction = predictor.predict(str(noisy_path), 10, downmix=True, gate_noise=way == WAYS[1])
            record[way] = judge(prediction, clean, clean_hz)
        append_record(records_path, record)
        records.append(record)
        print(f"{name} ({record['noise']}): " + ", ".join(f"{way} {record[way]['best_mss']:.3f}" for way in WAYS),
              flush=True)
    return records


def summary(records: list[dict]) -> dict:
    pitched = [r for r in records if r["clean_hz"] is not None]
    out = {"targets": len(records), "pitched": len(pitched),
           "clean_floors_found": sum(r["clean_floor"] is not None for r in records),
           "gated": sum(bool(r[WAYS[1]]["notes"]) and "gated out" in r[WAYS[1]]["notes"][0] for r in records)}
    for way in WAYS:
        out[way] = {"best_mss": statistics.fmean(r[way]["best_mss"] for r in records),
                    "first_on_pitch": sum(bool(r[way]["first_on_pitch"]) for r in pitched),
                    "on_pitch": sum(r[way]["on_pitch"] or 0 for r in pitched)}
    ours, base = ([r[way]["best_mss"] for r in records] for way in (WAYS[1], WAYS[0]))
    out["change"] = paired_change(ours, base)
    return out


def markdown(results: dict) -> str:
    s, c = results["summary"], results["summary"]["change"]
    lines = ["# Notes over a steady noise floor: `inverse predict --keep-noise` against the default (gated)", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each noisy note answered by the shipped default both ways; judged against the clean note. Change: "
             "mean(gated) / mean(kept) - 1 of the best-of-10 MSS, 95 % bootstrap interval over targets.", "",
             f"Targets {s['targets']} ({s['pitched']} with a clear pitch); the gate found a floor in {s['gated']} of "
             f"the noisy files and in {s['clean_floors_found']} of the clean ones.", "",
             "| way | best-of-10 MSS against the clean note | change | better / worse | first on pitch | "
             "on pitch of all 10 |", "|---|---:|---:|---:|---:|---:|"]
    for way in WAYS:
        row = s[way]
        change = (f"{c['mean'] * 100:+.1f} % ({c['interval'][0] * 100:+.1f} .. {c['interval'][1] * 100:+.1f})"
                  if way == WAYS[1] else "-")
        better = f"{c['better']} / {c['worse']}" if way == WAYS[1] else "-"
        lines.append(f"| {way} | {row['best_mss']:.3f} | {change} | {better} | {row['first_on_pitch']}/{s['pitched']} "
                     f"| {row['on_pitch']}/{10 * s['pitched']} |")
    scan = results["in_domain"]
    for seed, found in scan["seeds"].items():
        kind = "held-out " if int(seed) == HELD_OUT_SEED else ""
        lines += ["", f"Synth patches: the gate finds a floor in {len(found)} of the first {scan['scanned']} {kind}"
                  f"prior-2 patches of seed {seed}" + ("." if not found else ": " + ", ".join(
                      f"row {f['row']} ({f['floor_dbfs']:.0f} dBFS, moved by {f['mss_moved']:.3f} MSS)" for f in found)
                      + ".")]
    lines += ["", "| target | noise | " + " | ".join(f"{way}: best MSS, on pitch" for way in WAYS) + " |",
              "|---|---|---:|---:|"]
    for r in results["records"]:
        lines.append(f"| {r['name']} | {r['noise']} | " + " | ".join(
            f"{r[way]['best_mss']:.3f}, {'-' if r[way]['on_pitch'] is None else r[way]['on_pitch']}" for way in WAYS)
            + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-source", type=int, default=8, help="sox and fluidsynth notes each (default 8)")
    parser.add_argument("--in-domain", type=int, default=500, help="prior-2 patches per seed scanned for floors")
    parser.add_argument("--other-seeds", type=int, nargs="*", default=[5, 7],
                        help="seeds scanned besides the held-out one (default 5 7)")
    parser.add_argument("--out", type=Path, default=RESULTS / "noise_floor")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        targets = sox_notes(folder / "sox", args.per_source) + fluidsynth_notes(folder / "fluidsynth", args.per_source)
        records = answers(targets, folder, args.out / "records.jsonl")
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records),
               "in_domain": {"scanned": args.in_domain, "seeds": {seed: in_domain_floors(args.in_domain, seed)
                                                                  for seed in (HELD_OUT_SEED, *args.other_seeds)}}}
    json_path, md_path = write_results(args.out, "noise_floor", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
