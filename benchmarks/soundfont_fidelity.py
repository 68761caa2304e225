"""Does ``python -m synth soundfont`` play like the synth? Each patch's SoundFont played by fluidsynth (a sampler as a
user runs one) against ``synth play`` of the same notes, in one run.

    python benchmarks/soundfont_fidelity.py [--patches 40] [--sox 4] [--fluidsynth 2] \\
        [--out benchmarks/results/soundfont_fidelity]

Patches: the first ``--patches`` rows of ``data/test_p2.h5`` (held-out prior-2 patches) and the ten candidates
``inverse predict`` returns (every default) for ``--sox`` sox notes and ``--fluidsynth`` General MIDI notes; only
patches with one clear pitch as they are (:func:`synth.pitch.estimate_pitch`). Each is written as a font with the
command's defaults (a note every 3 semitones, one velocity layer, 48 kHz) and played by fluidsynth at 48 kHz (reverb
and chorus off, float output), six keys of one second each, 4.5 s apart: the sampled note nearest to A2, A3 and A4
within the patch's range ("sampled") and the key a semitone above each ("shifted": the sampler resamples the note
below). ``synth play`` renders the same notes (:func:`synth.phrase.play_notes`). Per key: the multi-scale log-mel
distance (:func:`synth.perceptual.mss_distance`) between the two over the key's 1.25 s (held, and the first 0.25 s of
its release), fluidsynth's scaled to the synth's RMS (its gain and pan are its own) and read from where it lines up
best with the synth's (its notes start a block late); and whether CREPE hears fluidsynth's note within 50 cents of
the synth's, where the synth's has one clear pitch. For scale: the best of
``predict``'s ten is ~0.2-0.3 from an in-domain target (README, "Sound matching quality"). Records:
``records.jsonl`` (a rerun skips the patches there); ``soundfont_fidelity.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import soundfile
import torch
import torch.nn.functional as F
import torchaudio.functional as AF

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import (  # noqa: E402
    RESULTS,
    command_line,
    git_commit,
    load_average,
    machine_info,
    write_results,
)
from phrase_pitch import judge_clear_patches  # noqa: E402

from synth.instrument import sampled_instrument  # noqa: E402
from synth.midi_file import MidiNote, write_midi  # noqa: E402
from synth.perceptual import mss_distance  # noqa: E402
from synth.phrase import TimedNote, play_notes  # noqa: E402
from synth.pitch import estimate_pitch, pitch_agreement  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402

RATE = DEFAULT_CONFIG.sample_rate
NEAR = (45, 57, 69)  # A2 A3 A4: the sampled notes nearest to these are played, and a semitone above each
SPACING_S, HELD_S, JUDGED_S = 4.5, 1.0, 1.25
HOLD_S = 8.0  # a sampled key held past the render's 3.5 s, on the sample's sustain loop
SEARCH = 160  # samples either side of fluidsynth's first note's lag searched for each note's best alignment


def judged(audio: torch.Tensor, start: int, level: torch.Tensor | None = None) -> torch.Tensor:
    """``JUDGED_S`` of ``audio`` from sample ``start``, zero-padded to the synth's length, ``Tensor[1, N]``; with
    ``level`` (``Tensor[1, N]``) scaled to its RMS (fluidsynth's gain and pan are not the synth's)."""
    part = audio[start:start + round(JUDGED_S * RATE)]
    part = F.pad(part, (0, DEFAULT_CONFIG.num_samples - part.shape[0]))[None]
    return part if level is None else part * level.pow(2).mean().sqrt() / part.pow(2).mean().sqrt().clamp_min(1e-12)


def judged_keys(patch: torch.Tensor, folder: Path) -> dict:
    """``patch``'s font played by fluidsynth against ``synth play``: per key its distance and pitch verdict, the
    font's size and build time."""
    started = time.perf_counter()
    instrument = sampled_instrument(patch)
    seconds = time.perf_counter() - started
    size = instrument.write(folder / "patch.sf2", "patch")
    roots = [z.root_key for z in instrument.zones]
    keys = []
    for near in NEAR:
        root = min(roots, key=lambda r: abs(r - near))
        if root not in keys and root + 1 < roots[-1] and root + 1 not in roots:  # both keys the synth plays
            keys += [root, root + 1]
    notes = [MidiNote(SPACING_S * k, HELD_S, key, 127, 0) for k, key in enumerate(keys)]
    sampled = [key for key in keys if key in roots] or roots
    held_key = sampled[len(sampled) // 2]  # a sampled key, held 8 s
    notes_and_held = notes + [MidiNote(SPACING_S * len(keys), HOLD_S, held_key, 127, 0)]
    write_midi(folder / "keys.mid", notes_and_held)
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "1", "-R", "0", "-C", "0", "-o", "audio.file.format=float",
                    "-r", "48000", "-F", str(folder / "out.wav"), str(folder / "patch.sf2"), str(folder / "keys.mid")],
                   check=True, capture_output=True, timeout=600)
    played, rate = soundfile.read(folder / "out.wav", dtype="float32", always_2d=True)
    played = AF.resample(torch.from_numpy(played.mean(axis=1)), rate, RATE)
    ours = play_notes(patch, [TimedNote(n.onset_s, float(n.note), n.length_s) for n in notes]).audio
    ours = F.pad(ours, (0, max(0, played.shape[0] - ours.shape[0])))
    late = int(torch.nonzero(played.abs() > 1e-4)[0]) - int(torch.nonzero(ours.abs() > 1e-4)[0])
    out = []
    for k, key in enumerate(keys):
        onset = round(notes[k].onset_s * RATE)
        mine = judged(ours, onset)
        lag = max(range(max(0, late - SEARCH), late + SEARCH),
                  key=lambda shift: float((judged(played, onset + shift) * mine).sum()))
        theirs = judged(played, onset + lag, mine)
        heard = estimate_pitch(torch.cat([theirs, mine]))
        same = pitch_agreement(heard.f0_hz[:1], heard.f0_hz[1:])["match"]
        out.append({"key": key, "sampled": key in roots, "mss": round(float(mss_distance(theirs, mine)), 5),
                    "clear": bool(heard.clear[1]), "same_pitch": bool(heard.clear.all()) and bool(same[0]),
                    "lag": lag})
    zone = next(z for z in instrument.zones if z.root_key == held_key)
    return {"keys": out, "bytes": size, "build_s": round(seconds, 3), "release_s": round(instrument.release_s, 4),
            "looped": sum(z.loop is not None for z in instrument.zones), "zones": len(instrument.zones),
            "held": None if zone.loop is None else held_level(played, round(SPACING_S * len(keys) * RATE))}


def held_level(played: torch.Tensor, onset: int) -> dict:
    """How a key held :data:`HOLD_S` on its loop keeps its level (10 ms frames, dB): the mean over 6-7.9 s against
    2-3.3 s, where the note had settled to be looped (``drift_db``), and how much deeper its lowest frame goes over
    3.3-7.9 s (where the loop jumps back) than over 2-3.3 s (``dip_db``: 0 or below where the jumps add no dip)."""
    frames = played[onset:onset + round(HOLD_S * RATE)]
    frames = frames[:frames.shape[0] // 160 * 160].reshape(-1, 160)
    level = 10.0 * torch.log10(frames.pow(2).mean(dim=1).clamp_min(1e-20))
    settled = float(level[200:330].mean())
    return {"drift_db": round(float(level[600:790].mean()) - settled, 3),
            "dip_db": round(float(level[200:330].min()) - float(level[330:790].min()), 3)}


def p90(values: list[float]) -> float:
    """The 90th percentile of ``values`` by nearest rank (the largest of fewer than ten)."""
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def summarise(records: list[dict]) -> dict:
    """Per set: patches, and per kind of key (sampled, shifted) the distance's median and 90th percentile and the
    share on the pitch; the fonts' median size and build time."""
    out = {}
    for set_name in dict.fromkeys(r["set"] for r in records):
        chosen = [r for r in records if r["set"] == set_name]
        row = {"patches": len(chosen), "median_mb": statistics.median(r["bytes"] for r in chosen) / 1e6,
               "median_build_s": statistics.median(r["build_s"] for r in chosen)}
        for kind, sampled in (("sampled", True), ("shifted", False)):
            keys = [k for r in chosen for k in r["keys"] if k["sampled"] == sampled]
            distances = [k["mss"] for k in keys]
            row[kind] = {"keys": len(keys), "median_mss": statistics.median(distances) if keys else None,
                         "p90_mss": p90(distances) if keys else None,
                         "clear": sum(k["clear"] for k in keys), "same_pitch": sum(k["same_pitch"] for k in keys)}
        held = [r["held"] for r in chosen if r.get("held")]
        drifts, dips = [abs(h["drift_db"]) for h in held], [h["dip_db"] for h in held]
        row["looped_zones"] = f"{sum(r['looped'] for r in chosen)} of {sum(r['zones'] for r in chosen)}"
        row["held"] = {"keys": len(held), "median_abs_drift_db": statistics.median(drifts) if held else None,
                       "p90_abs_drift_db": p90(drifts) if held else None,
                       "median_dip_db": statistics.median(dips) if held else None,
                       "p90_dip_db": p90(dips) if held else None}
        out[set_name] = row
    return out


def markdown(results: dict) -> str:
    lines = ["# `synth soundfont`: played by fluidsynth, like the synth?", "", f"`{results['command']}` (commit "
             f"{results['commit']}, {results['machine']['cpu_model']}, load {results['load_before']} -> "
             f"{results['load_after']}, {results['minutes']:.1f} minutes)", "",
             "Multi-scale log-mel distance between fluidsynth playing the font and `synth play` of the same key "
             "(1 s held and 0.25 s of release, fluidsynth's at the synth's RMS, aligned); the same pitch: CREPE hears "
             "fluidsynth's note within 50 cents of the synth's, of the keys where the synth's has one clear pitch. "
             "For scale, `predict`'s best of ten is ~0.2-0.3 from an in-domain target.", "",
             "| patches | n | sampled keys: MSS median (90th pct) | the same pitch | shifted a semitone: MSS median "
             "(90th pct) | the same pitch | font MB (median) | build s (median) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, row in results["summary"].items():
        cells = [f"{row[k]['median_mss']:.3f} ({row[k]['p90_mss']:.3f}) | {row[k]['same_pitch']} of "
                 f"{row[k]['clear']}"
                 if row[k]["keys"] else "- | -" for k in ("sampled", "shifted")]
        lines.append(f"| {name} | {row['patches']} | {cells[0]} | {cells[1]} | {row['median_mb']:.1f} | "
                     f"{row['median_build_s']:.1f} |")
    lines += ["", f"A sampled key held {HOLD_S:g} s, past the render's 3.5 s, on its sample's sustain loop (where it "
              "has one): its level at 6-7.9 s against 2-3.3 s, where it settled (|drift|), and how much lower its "
              "lowest 10 ms goes over 3.3-7.9 s, where the loop jumps back, than over 2-3.3 s (dip; 0 or below: no "
              "dip).",
              "",
              "| patches | samples looped | held keys | \\|drift\\| dB median (90th pct) | dip dB median (90th pct) |",
              "|---|---:|---:|---:|---:|"]
    for name, row in results["summary"].items():
        held = row["held"]
        cells = (f"{held['median_abs_drift_db']:.2f} ({held['p90_abs_drift_db']:.2f}) | {held['median_dip_db']:.2f} "
                 f"({held['p90_dip_db']:.2f})") if held["keys"] else "- | -"
        lines.append(f"| {name} | {row['looped_zones']} | {held['keys']} | {cells} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/test_p2.h5"), help="held-out patches (prior 2)")
    parser.add_argument("--patches", type=int, default=40, help="its first rows judged (default 40)")
    parser.add_argument("--sox", type=int, default=4, help="sox notes whose candidates are judged (default 4)")
    parser.add_argument("--fluidsynth", type=int, default=2, help="fluidsynth notes (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS / "soundfont_fidelity")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started, load_before = time.time(), load_average()
    records = judge_clear_patches(args, judged_keys)
    results = {"command": command_line(), "commit": git_commit(), "machine": machine_info(),
               "load_before": load_before, "load_after": load_average(), "minutes": (time.time() - started) / 60,
               "summary": summarise(records)}
    json_path, md_path = write_results(args.out, "soundfont_fidelity", results, markdown(results))
    print(markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
