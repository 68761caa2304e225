"""Targets from lossy files: ``inverse predict`` on the same notes as a WAV, an Ogg Vorbis and an MP3 file, each answer
judged against the clean note.

    python benchmarks/lossy_targets.py [--sox 8] [--fluidsynth 6] [--out benchmarks/results/lossy_targets]

Sources: ``--sox`` sox notes and ``--fluidsynth`` General MIDI notes (``external_sounds.py``), resampled to 44.1 kHz
stereo (what a downloaded sample is), written as 16-bit WAV, as Ogg Vorbis (libsndfile's default quality) and as
MP3 (libsndfile's LAME, its default, constant bit rate). Each file is answered (``predict(FILE, 10)``, every
default); the ten are judged by their best multi-scale distance to the clean note (the WAV's target audio) and to the
file's own target, and by how many are on the note's pitch. Records: ``records.jsonl`` (a rerun skips the notes
there); ``lossy_targets.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
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
from external_sounds import fluidsynth_notes, missing_tools, sox_notes  # noqa: E402

from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.perceptual import mss_distance  # noqa: E402
from synth.pitch import estimate_pitch, pitch_agreement  # noqa: E402

FORMATS = {"wav": ("WAV", "PCM_16"), "ogg": ("OGG", "VORBIS"), "mp3": ("MP3", "MPEG_LAYER_III")}


def encoded(source: Path, folder: Path) -> dict[str, Path]:
    """``source`` at 44.1 kHz stereo in each of :data:`FORMATS`."""
    wide = folder / f"{source.stem}_44k.wav"
    subprocess.run(["sox", str(source), "-r", "44100", "-c", "2", "-b", "16", str(wide)], check=True)
    audio, rate = soundfile.read(wide, dtype="float32")
    files = {}
    for name, (kind, subtype) in FORMATS.items():
        files[name] = folder / f"{source.stem}.{name}"
        soundfile.write(files[name], audio, rate, format=kind, subtype=subtype)
    return files


def judged(prediction, clean: torch.Tensor) -> dict:
    """The ten against the clean note's audio ``clean`` ``Tensor[N]`` and against their own target."""
    c = prediction.candidates
    to_clean = mss_distance(c.audio, clean[None].expand(len(c.audio), -1))
    record = {"best_mss_clean": float(to_clean.min()), "best_mss_own": float(c.mss.min())}
    reference = estimate_pitch(clean[None])
    if bool(reference.clear[0]):
        heard = estimate_pitch(c.audio).f0_hz
        record["on_pitch"] = int(pitch_agreement(heard, reference.f0_hz.expand(len(heard)))["match"].sum())
    return record


def markdown(results: dict) -> str:
    lines = ["# Targets from lossy files", "", f"`{results['command']}` (commit {results['commit']}, "
             f"{results['machine']['cpu_model']}, load {results['load_before']} -> {results['load_after']}, "
             f"{results['minutes']:.1f} minutes)", "",
             "| file | notes | best-of-10 MSS to the clean note, mean (median) | vs the WAV's, mean | worse than the "
             "WAV's on | to its own target, mean | of the ten on the pitch |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, row in results["summary"].items():
        lines.append(f"| {name} | {row['notes']} | {row['mean_clean']:.3f} ({row['median_clean']:.3f}) | "
                     f"{row['vs_wav']:+.1%} | {row['worse']} | {row['mean_own']:.3f} | {row['on_pitch']} |")
    return "\n".join(lines) + "\n"


def summarise(records: list[dict]) -> dict:
    out = {}
    for name in FORMATS:
        clean = [r[name]["best_mss_clean"] for r in records]
        wav = [r["wav"]["best_mss_clean"] for r in records]
        out[name] = {"notes": len(records), "mean_clean": statistics.mean(clean),
                     "median_clean": statistics.median(clean),
                     "vs_wav": statistics.mean(clean) / statistics.mean(wav) - 1.0,
                     "worse": sum(c > w * 1.05 for c, w in zip(clean, wav)),
                     "mean_own": statistics.mean(r[name]["best_mss_own"] for r in records),
                     "on_pitch": sum(r[name].get("on_pitch", 0) for r in records)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sox", type=int, default=8, help="sox notes (default 8)")
    parser.add_argument("--fluidsynth", type=int, default=6, help="General MIDI notes (default 6)")
    parser.add_argument("--out", type=Path, default=RESULTS / "lossy_targets")
    args = parser.parse_args()
    missing = missing_tools()
    if "sox" in missing or "fluidsynth" in missing:
        print(f"missing tools: {', '.join(missing)} (apt-get install sox fluidsynth fluid-soundfont-gm)")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    started, load_before = time.time(), load_average()
    records_path = args.out / "records.jsonl"
    done = {r["name"]: r for r in read_records(records_path)}
    records, predictor = [], None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = sox_notes(folder / "sox", args.sox) + fluidsynth_notes(folder / "gm", args.fluidsynth)
        for name, source in sources:
            if name in done:
                records.append(done[name])
                continue
            predictor = predictor or Predictor.from_checkpoint()
            files = encoded(source, folder)
            clean = load_any_target(files["wav"]).audio
            record = {"name": name}
            for kind, path in files.items():
                record[kind] = judged(predictor.predict(load_any_target(path), 10), clean)
            append_record(records_path, record)
            records.append(record)
            print(name, {k: round(record[k]["best_mss_clean"], 3) for k in FORMATS}, flush=True)
    results = {"command": command_line(), "commit": git_commit(), "machine": machine_info(),
               "load_before": load_before, "load_after": load_average(), "minutes": (time.time() - started) / 60,
               "summary": summarise(records)}
    json_path, md_path = write_results(args.out, "lossy_targets", results, markdown(results))
    print(markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
