"""Short targets (drum hits, plucks, blips): how ``inverse predict`` ranks candidates against a sound that fills a
few per cent of the 4.088 s window, with the MSS per sounding frame (:func:`synth.perceptual.mss_weight`, the
default) against the plain MSS (that weight held at 1), in the same run on the same targets.

    python benchmarks/short_sounds.py [--in-domain 40] [--out benchmarks/results/short_sounds]

Targets, each written as a 16 kHz float WAV and answered from that file (``inverse predict FILE --samples 10``):

- **one-shots**: 12 General MIDI drum hits rendered by fluidsynth (:func:`external_sounds.drum_hits`) and 8 sox
  one-shots (:func:`external_sounds.sox_one_shots`: a kick sweep, a hat, a snare, two plucks, a blip, a zap, a tom);
- **in-domain**: the first ``--in-domain`` prior-2 patches of seed 3 (the held-out benchmark's seed) whose weight
  is above 1, i.e. that sound in less than half the window;
- **speech**: the 20 espeak-ng phrases of the held-out benchmark (all of them sound in less than half the window).

Each target is answered twice by the shipped default, once per ranking. Judged per answer: best-of-10 MSS (the plain,
unweighted multi-scale spectral distance, so both rankings are judged alike), the first and the best candidate's
peak-level error (dB; a faint copy of a hit is not a match), where the target has a clear pitch whether the first
candidate and how many of the ten are on it (within 50 cents), the diversity of the ten (mean pairwise normalised
parameter distance) and whether all ten are within 1.5x the best one's MSS. Records go to ``records.jsonl`` as
each target is answered (a rerun skips those there); ``short_sounds.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from contextlib import contextmanager
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
from external_sounds import drum_hits, espeak_phrases, missing_tools, sox_one_shots  # noqa: E402
from inverse_quality import paired_change  # noqa: E402

from inverse.metrics import diversity  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth import perceptual  # noqa: E402
from synth.perceptual import features, mss_weight  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

RATE = DEFAULT_CONFIG.sample_rate
RANKINGS = ("per sounding frame", "plain MSS")
HELD_OUT_SEED = 3  # the seed of inverse_quality's held-out in-domain targets
WITHIN = 1.5


@contextmanager
def ranking(name: str):
    """Within the block, ``match_distance`` weighs the MSS as ``name`` says (the plain MSS: a weight of 1)."""
    original = perceptual.mss_weight
    if name == "plain MSS":
        perceptual.mss_weight = lambda reference: torch.ones(())
    try:
        yield
    finally:
        perceptual.mss_weight = original


def in_domain(folder: Path, count: int, scan: int = 500) -> list[tuple[str, Path]]:
    """The first ``count`` of ``scan`` held-out prior-2 patches whose MSS weight is above 1, as float WAVs."""
    params = draw(HELD_OUT_SEED, 0, scan, prior="2")
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for start in range(0, scan, 100):
        audio = render(params[start: start + 100])
        weight = mss_weight(features(audio))
        for k in torch.nonzero(weight > 1).flatten().tolist():
            path = folder / f"row{start + k:03d}.wav"
            soundfile.write(path, audio[k].numpy(), RATE, subtype="FLOAT")
            out.append((path.stem, path))
            if len(out) == count:
                return out
    return out


def peak_db(audio: torch.Tensor) -> torch.Tensor:
    """Peak level of each of ``audio`` ``Tensor[K, N]`` in dBFS (``Tensor[K]``)."""
    return 20 * torch.log10(audio.abs().amax(dim=-1).clamp_min(1e-6))


def judge(prediction) -> dict:
    c = prediction.candidates
    mss = c.mss  # Tensor[K], plain (unweighted) MSS against the target
    level = (peak_db(c.audio) - peak_db(prediction.target.audio[None])).abs()
    best = int(mss.argmin())
    record = {"best_mss": float(mss[best]), "first_level_db": float(level[0]), "best_level_db": float(level[best]),
              "diversity": diversity(c.params), "all_within": bool((mss <= WITHIN * mss[best]).all()),
              "first_on_pitch": None, "on_pitch": None}
    if c.pitch is not None and c.pitch.checked:
        record["first_on_pitch"] = bool(c.pitch.agrees[0])
        record["on_pitch"] = int(c.pitch.agrees.sum())
    return record


def answers(sets: dict[str, list[tuple[str, Path]]], records_path: Path) -> list[dict]:
    done = {(record["set"], record["name"]): record for record in read_records(records_path)}
    predictor, records = None, []
    for set_name, targets in sets.items():
        for name, path in targets:
            if (set_name, name) in done:
                records.append(done[(set_name, name)])
                continue
            predictor = predictor or Predictor.from_checkpoint()
            reference = load_any_target(path, downmix=True)
            record = {"set": set_name, "name": name, "weight": float(mss_weight(reference.features)[0]),
                      "target_hz": None if math.isnan(reference.pitch_hz) else reference.pitch_hz}
            for way in RANKINGS:  # the target as `inverse predict FILE --downmix` reads it, loaded once
                with ranking(way):
                    record[way] = judge(predictor.predict(reference, 10))
            append_record(records_path, record)
            records.append(record)
            print(f"{set_name} {name} (weight {record['weight']:.1f}): "
                  + ", ".join(f"{way} {record[way]['best_mss']:.3f}" for way in RANKINGS), flush=True)
    return records


def summary(records: list[dict]) -> dict:
    """Per set and ranking: means of the judged numbers; the change of mean best-of-10 MSS (``mean(weighted) /
    mean(plain) - 1``, :func:`inverse_quality.change_interval`), targets paired."""
    out = {}
    for set_name in dict.fromkeys(r["set"] for r in records):
        rows = [r for r in records if r["set"] == set_name]
        pitched = [r for r in rows if r["target_hz"] is not None]
        per = {}
        for way in RANKINGS:
            judged = [r[way] for r in rows]
            per[way] = {
                "best_mss": statistics.fmean(j["best_mss"] for j in judged),
                "first_level_db_median": statistics.median(j["first_level_db"] for j in judged),
                "first_level_db_mean": statistics.fmean(j["first_level_db"] for j in judged),
                "best_level_db_median": statistics.median(j["best_level_db"] for j in judged),
                "diversity": statistics.fmean(j["diversity"] for j in judged),
                "all_within": sum(j["all_within"] for j in judged),
                "first_on_pitch": sum(bool(r[way]["first_on_pitch"]) for r in pitched),
                "on_pitch": sum(r[way]["on_pitch"] or 0 for r in pitched)}
        ours, base = ([r[way]["best_mss"] for r in rows] for way in RANKINGS)
        out[set_name] = {"targets": len(rows), "pitched": len(pitched), **per,
                         "weight_median": statistics.median(r["weight"] for r in rows),
                         "change": paired_change(ours, base)}
    return out


def markdown(results: dict) -> str:
    lines = ["# Short targets: the MSS per sounding frame against the plain MSS", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target answered by the shipped default (`inverse predict FILE --samples 10`) under each "
             "ranking; best-of-10 MSS is the plain multi-scale spectral distance for both. Change: "
             "mean(per sounding frame) / mean(plain) - 1 with its 95 % bootstrap interval over targets.", "",
             "| set | targets (pitched) | median weight | ranking | best-of-10 MSS | change | better / worse | "
             "first's level error (median / mean dB) | best's level error (median dB) | first on pitch | "
             "on pitch of all 10 | diversity | all 10 within 1.5x |", "|---|---|---:|---|---:|---:|---:|---:|---:|"
             "---:|---:|---:|---:|"]
    for set_name, s in results["summary"].items():
        for way in RANKINGS:
            row, c = s[way], s["change"]
            change = (f"{c['mean'] * 100:+.1f} % ({c['interval'][0] * 100:+.1f} .. {c['interval'][1] * 100:+.1f})"
                      if way == RANKINGS[0] else "-")
            better = f"{c['better']} / {c['worse']}" if way == RANKINGS[0] else "-"
            lines.append(f"| {set_name} | {s['targets']} ({s['pitched']}) | {s['weight_median']:.1f} | {way} | "
                         f"{row['best_mss']:.4f} | {change} | {better} | {row['first_level_db_median']:.1f} / "
                         f"{row['first_level_db_mean']:.1f} | {row['best_level_db_median']:.1f} | "
                         f"{row['first_on_pitch']}/{s['pitched']} | {row['on_pitch']}/{10 * s['pitched']} | "
                         f"{row['diversity']:.3f} | {row['all_within']}/{s['targets']} |")
    lines += ["", "| set | target | weight | pitch (Hz) | " + " | ".join(
        f"{way}: best MSS, first's level error" for way in RANKINGS) + " |", "|---|---|---:|---:|---:|---:|"]
    for r in results["records"]:
        pitch = "-" if r["target_hz"] is None else f"{r['target_hz']:.1f}"
        lines.append(f"| {r['set']} | {r['name']} | {r['weight']:.1f} | {pitch} | " + " | ".join(
            f"{r[way]['best_mss']:.3f}, {r[way]['first_level_db']:.1f} dB" for way in RANKINGS) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in-domain", type=int, default=40, help="held-out short prior-2 targets (default 40)")
    parser.add_argument("--out", type=Path, default=RESULTS / "short_sounds")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sets = {"one-shots": drum_hits(folder / "drums", 12) + sox_one_shots(folder / "sox", 8),
                "in-domain": in_domain(folder / "in_domain", args.in_domain),
                "speech": espeak_phrases(folder / "espeak", 20)}
        records = answers(sets, args.out / "records.jsonl")
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records)}
    json_path, md_path = write_results(args.out, "short_sounds", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
