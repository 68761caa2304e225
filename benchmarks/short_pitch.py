"""Short pitched targets (blips, staccato notes): ``inverse predict`` with the pitch tracker's finer hop for short
sounds (:attr:`synth.pitch.PitchConfig.short_s`, the default) against the 20 ms hop alone, in the same run on the
same targets.

    python benchmarks/short_pitch.py [--in-domain 500] [--out benchmarks/results/short_pitch]

At the 20 ms hop a sound loud for 40-150 ms has 2-7 voiced frames, too few (:attr:`~synth.pitch.PitchConfig.min_frames`)
for a clear pitch, so ``predict`` treated a blip as unpitched: no pitch check, no candidates moved to its pitch, no
sub-octave term. With the default, a sound loud for less than 0.25 s is tracked again at a 5 ms hop.

Targets, each answered from its WAV file (``inverse predict FILE --samples 10``) once per way of tracking:

- **blips**: 24 sox blips (:func:`external_sounds.sox_blips`: square, sawtooth, triangle, sine x E3-A5, 40-150 ms);
- **staccato**: 10 General MIDI notes held 80 ms (:func:`external_sounds.staccato_notes`), whose releases keep them
  loud longer than 0.25 s: their own pitch reads the same either way, their candidates' may not;
- **in-domain**: those of the first ``--in-domain`` held-out prior-2 patches (seed 3, the held-out benchmark's) whose
  clear / not clear verdict differs between the two ways, and as a control the first ``--control`` with a clear pitch
  both ways (answered the same unless the target is short or a candidate the pitch check tracks is).

First the tracker alone, both ways, on sounds not answered here (:func:`tracker_check`). Then, judged per answer,
the same way for both: best-of-10 MSS (plain multi-scale log-mel distance), and against the
target's pitch (the note's for sox and fluidsynth, CREPE's reading of the target with the finer hop for in-domain
patches) whether the first candidate and how many of the ten are within 50 cents, read by CREPE with the finer hop;
diversity; every candidate within 1.5x the best one's MSS; seconds per answer. Records go to ``records.jsonl`` as each
target is answered (a rerun skips those there); ``short_pitch.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
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
from external_sounds import (  # noqa: E402
    drum_hits,
    missing_tools,
    sox_blips,
    sox_one_shots,
    staccato_notes,
    tracker_blips,
    unpitched_bursts,
)
from inverse_quality import paired_change  # noqa: E402

import inverse.pitch_check  # noqa: E402
import inverse.target  # noqa: E402
from inverse.metrics import diversity  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.pitch import CENTS_TOLERANCE, PitchConfig, estimate_pitch, pitch_agreement  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

WAYS = ("finer hop for short sounds", "20 ms hop only")
HELD_OUT_SEED = 3  # the seed of inverse_quality's held-out in-domain targets
WITHIN = 1.5


def coarse_pitch(audio: torch.Tensor, config: PitchConfig | None = None, chunk: int = 2048):
    """:func:`estimate_pitch` without the second, finer tracking of short sounds (the way before it)."""
    return estimate_pitch(audio, replace(config or PitchConfig(), short_s=0.0), chunk)


@contextmanager
def tracking(way: str):
    """Within the block, ``predict`` tracks pitches as ``way`` says (the target's and the pitch check's)."""
    modules = (inverse.target, inverse.pitch_check)
    if way == WAYS[1]:
        for module in modules:
            module.estimate_pitch = coarse_pitch
    try:
        yield
    finally:
        for module in modules:
            module.estimate_pitch = estimate_pitch


def in_domain(folder: Path, scan: int, control: int) -> tuple[list, list]:
    """Of the first ``scan`` held-out prior-2 patches: those whose verdict (clear pitch or not) differs between the
    two ways, and the first ``control`` with a clear pitch both ways, as float WAVs ``[(name, path, f0 Hz)]`` with
    CREPE's reading of their pitch (finer hop; NaN where not clear that way)."""
    params = draw(HELD_OUT_SEED, 0, scan, prior="2")
    folder.mkdir(parents=True, exist_ok=True)
    differ, same = [], []
    for start in range(0, scan, 50):
        audio = render(params[start: start + 50])
        fine, coarse = estimate_pitch(audio), coarse_pitch(audio)
        for k in range(len(audio)):
            found = differ if bool(fine.clear[k]) != bool(coarse.clear[k]) else same if bool(fine.clear[k]) else None
            if found is None or (found is same and len(same) == control):
                continue
            path = folder / f"row{start + k:03d}.wav"
            soundfile.write(path, audio[k].numpy(), DEFAULT_CONFIG.sample_rate, subtype="FLOAT")
            found.append((path.stem, path, float(fine.f0_hz[k]) if bool(fine.clear[k]) else math.nan))
    return differ, same


def tracker_check(folder: Path) -> dict:
    """The tracker alone, both ways, on sounds ``predict`` does not answer here: of 46 other sox blips
    (:func:`external_sounds.tracker_blips`), how many read as a clear pitch within 50 cents of their note; of 15 noise
    bursts and chirps and 20 one-shots (12 GM drum hits, 8 sox one-shots; only the cowbell, the two plucks and the
    blip among them have one pitch), which read as a clear pitch."""
    blips = tracker_blips(folder / "tracker_blips")
    others = unpitched_bursts(folder / "bursts") + drum_hits(folder / "drums", 12) + sox_one_shots(folder / "shots", 8)
    audio = torch.stack([load_any_target(path, downmix=True).audio for _, path, _ in blips])
    f0_hz = torch.tensor([f0 for _, _, f0 in blips])
    others_audio = torch.stack([load_any_target(path, downmix=True).audio for _, path in others])
    out = {"blips": len(blips), "others": len(others)}
    for way, estimate in zip(WAYS, (estimate_pitch, coarse_pitch)):
        found = estimate(audio)
        right = found.clear & (pitch_agreement(found.f0_hz, f0_hz)["cents"].abs() <= CENTS_TOLERANCE)
        out[way] = {"blips_clear": int(found.clear.sum()), "blips_right": int(right.sum()),
                    "others_clear": [name for (name, _), clear in zip(others, estimate(others_audio).clear) if clear]}
    return out


def judge(prediction, f0_hz: float, seconds: float) -> dict:
    c = prediction.candidates
    mss = c.mss  # Tensor[K], plain MSS against the target
    best = int(mss.argmin())
    record = {"best_mss": float(mss[best]), "diversity": diversity(c.params), "seconds": seconds,
              "all_within": bool((mss <= WITHIN * mss[best]).all()), "target_clear": bool(
                  prediction.candidates.pitch is not None and prediction.candidates.pitch.checked),
              "first_on_pitch": None, "on_pitch": None, "octave_errors": None}
    if not math.isnan(f0_hz):
        found = pitch_agreement(estimate_pitch(c.audio).f0_hz, torch.full((len(mss),), f0_hz))
        record.update(first_on_pitch=bool(found["match"][0]), on_pitch=int(found["match"].sum()),
                      octave_errors=int(found["octave_error"].sum()))
    return record


def answers(sets: dict[str, list[tuple[str, Path, float]]], records_path: Path, ways: tuple[str, str] = WAYS,
            way_context=None, judged_by=None) -> list[dict]:
    """Each target of each set answered (``predict(FILE, 10)``) once per way of ``ways``, inside
    ``way_context(way)`` (:func:`tracking` by default), and judged after it (``judged_by(prediction, f0 Hz, seconds,
    name)``, by default :func:`judge`); records appended to ``records_path`` as they come, and those already there
    not answered again."""
    way_context = way_context or tracking
    judged_by = judged_by or (lambda prediction, f0_hz, seconds, name: judge(prediction, f0_hz, seconds))
    done = {(record["set"], record["name"]): record for record in read_records(records_path)}
    predictor, records = None, []
    for set_name, targets in sets.items():
        for name, path, f0_hz in targets:
            if (set_name, name) in done:
                records.append(done[(set_name, name)])
                continue
            predictor = predictor or Predictor.from_checkpoint()
            record = {"set": set_name, "name": name, "f0_hz": None if math.isnan(f0_hz) else f0_hz}
            for way in ways:
                with way_context(way):
                    target = load_any_target(path, downmix=True)  # loaded per way: a target keeps its pitch
                    started = time.perf_counter()
                    prediction = predictor.predict(target, 10)
                    seconds = time.perf_counter() - started
                record[way] = judged_by(prediction, f0_hz, seconds, name)  # by the default tracker, whatever the way
            append_record(records_path, record)
            records.append(record)
            judged = (f"{way} {record[way]['best_mss']:.4f} ({record[way]['on_pitch']} on pitch)" for way in ways)
            print(f"{set_name} {name}: " + ", ".join(judged), flush=True)
    return records


def summary(records: list[dict], ways: tuple[str, str] = WAYS) -> dict:
    """Per set and way: means of the judged numbers; the change of mean best-of-10 MSS (``mean(first way) /
    mean(second) - 1``, :func:`inverse_quality.paired_change`), targets paired."""
    out = {}
    for set_name in dict.fromkeys(r["set"] for r in records):
        rows = [r for r in records if r["set"] == set_name]
        pitched = [r for r in rows if r["f0_hz"] is not None]
        per = {}
        for way in ways:
            judged = [r[way] for r in rows]
            per[way] = {"best_mss": statistics.fmean(j["best_mss"] for j in judged),
                        "target_clear": sum(j["target_clear"] for j in judged),
                        "diversity": statistics.fmean(j["diversity"] for j in judged),
                        "all_within": sum(j["all_within"] for j in judged),
                        "seconds": statistics.median(j["seconds"] for j in judged),
                        "first_on_pitch": sum(bool(r[way]["first_on_pitch"]) for r in pitched),
                        "on_pitch": sum(r[way]["on_pitch"] or 0 for r in pitched),
                        "octave_errors": sum(r[way]["octave_errors"] or 0 for r in pitched)}
        ours, base = ([r[way]["best_mss"] for r in rows] for way in ways)
        out[set_name] = {"targets": len(rows), "pitched": len(pitched), **per,
                         "change": paired_change(ours, base)}
    return out


def markdown(results: dict) -> str:
    lines = ["# Short pitched targets: the pitch tracker's finer hop for short sounds against the 20 ms hop alone", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target answered by the shipped default (`inverse predict FILE --samples 10`) each way. Change: "
             "mean(finer) / mean(20 ms only) - 1 of the best-of-10 MSS with its 95 % bootstrap interval over targets. "
             f"Pitch: within {CENTS_TOLERANCE:.0f} cents of the target's (sox, fluidsynth: the note's), read by CREPE "
             "with the finer hop for both ways; octave errors counted apart. 'clear': targets that `predict` "
             "judged to have a clear pitch (so it ran the pitch check).", "",
             *answer_table(results["summary"])]
    scan = results["in_domain"]
    lines += ["", f"In-domain: of the first {scan['scanned']} held-out prior-2 patches (seed {HELD_OUT_SEED}), "
              f"{scan['verdict_differs']} have a clear pitch one way and not the other."]
    tracker = results["tracker"]
    lines += ["", f"The tracker alone on {tracker['blips']} other sox blips (30-200 ms, F3-C6) and {tracker['others']} "
              "other short sounds (noise bursts, chirps, GM drum hits, sox one-shots; of them only the cowbell n56, "
              "the two plucks and the blip have one pitch):", "",
              "| way | blips with a clear pitch | ... within 50 cents of the note | others with a clear pitch |",
              "|---|---:|---:|---|"]
    for way in WAYS:
        t = tracker[way]
        lines.append(f"| {way} | {t['blips_clear']}/{tracker['blips']} | {t['blips_right']}/{tracker['blips']} | "
                     f"{', '.join(t['others_clear']) or 'none'} |")
    lines += ["", *records_table(results["records"])]
    return "\n".join(lines) + "\n"


def answer_table(summaries: dict, ways: tuple[str, str] = WAYS) -> list[str]:
    """Markdown lines: per set and way, the judged numbers of :func:`summary` (the change on the first way's row)."""
    lines = ["| set | targets (pitched) | way | clear | best-of-10 MSS | change | better / worse | first on pitch | "
             "on pitch of all 10 | octave errors | diversity | all 10 within 1.5x | s per answer (median) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for set_name, s in summaries.items():
        c = s["change"]
        change = f"{c['mean'] * 100:+.1f} % ({c['interval'][0] * 100:+.1f} .. {c['interval'][1] * 100:+.1f})"
        better = f"{c['better']} / {c['worse']}"
        for way in ways:
            row, first = s[way], way == ways[0]
            lines.append(f"| {set_name} | {s['targets']} ({s['pitched']}) | {way} | {row['target_clear']} | "
                         f"{row['best_mss']:.4f} | {change if first else '-'} | {better if first else '-'} | "
                         f"{row['first_on_pitch']}/{s['pitched']} | {row['on_pitch']}/{10 * s['pitched']} | "
                         f"{row['octave_errors']} | {row['diversity']:.3f} | {row['all_within']}/{s['targets']} | "
                         f"{row['seconds']:.1f} |")
    return lines


def records_table(records: list[dict], ways: tuple[str, str] = WAYS) -> list[str]:
    """Markdown lines: per target, each way's verdict (clear pitch or not), best MSS and candidates on pitch."""
    lines = ["| set | target | pitch (Hz) | " + " | ".join(f"{way}: clear, best MSS, on pitch" for way in ways) + " |",
             "|---|---|---:|---:|---:|"]
    for r in records:
        pitch = "-" if r["f0_hz"] is None else f"{r['f0_hz']:.1f}"
        lines.append(f"| {r['set']} | {r['name']} | {pitch} | " + " | ".join(
            f"{'yes' if r[way]['target_clear'] else 'no'}, {r[way]['best_mss']:.4f}, "
            f"{'-' if r[way]['on_pitch'] is None else r[way]['on_pitch']}" for way in ways) + " |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in-domain", type=int, default=500, help="held-out prior-2 patches scanned (default 500)")
    parser.add_argument("--control", type=int, default=10,
                        help="held-out patches with a clear pitch both ways, answered both ways too (default 10)")
    parser.add_argument("--out", type=Path, default=RESULTS / "short_pitch")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tracker = tracker_check(folder)
        differ, same = in_domain(folder / "in_domain", args.in_domain, args.control)
        sets = {"blips": sox_blips(folder / "blips", 24), "staccato": staccato_notes(folder / "staccato", 10),
                "in-domain": differ, "in-domain, clear both ways": same}
        records = answers(sets, args.out / "records.jsonl")
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records),
               "in_domain": {"scanned": args.in_domain, "verdict_differs": len(sets["in-domain"])}, "tracker": tracker}
    json_path, md_path = write_results(args.out, "short_pitch", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
