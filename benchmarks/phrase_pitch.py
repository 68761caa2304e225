"""Does ``python -m synth play`` put each note at the pitch written? Its placement (the patch's pitch heard first,
:func:`synth.phrase.play`) against setting ``note_pitch`` to the note (``--as-note-pitch``), on the same patches and
notes in one run.

    python benchmarks/phrase_pitch.py [--patches 200] [--sox 8] [--fluidsynth 6] [--out benchmarks/results/phrase_pitch]

Patches: the first ``--patches`` rows of ``data/test_p2.h5`` (held-out prior-2 patches: oscillators at octave and
semitone offsets) and the ten candidates ``inverse predict`` returns (every default) for ``--sox`` sox notes and
``--fluidsynth`` General MIDI notes (its candidates come in several forms: note 48 with every oscillator an octave up,
...); only patches with one clear pitch as they are (:func:`synth.pitch.estimate_pitch`) are judged. Each is played
both ways as G2, D3, A3, E4, B4, two beats each at 60 bpm with three beats of rest between (so that no note's
4.088 s render overlaps the next), and each note's part of the phrase read by CREPE: on the note (within 50 cents),
an octave error (a whole number of octaves off, within 50 cents), or off. Notes the patch cannot play (its
``note_pitch`` would leave 24 .. 96) are left out both ways. Records: ``records.jsonl`` (a rerun skips the patches
there); ``phrase_pitch.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

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

from dataset_gen.layout import PARAMS, open_complete  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.params import PARAM_INDEX, PARAM_SPECS  # noqa: E402
from synth.phrase import PhraseEvent, placement, play  # noqa: E402
from synth.pitch import CENTS_TOLERANCE, estimate_pitch, midi_to_hz, pitch_agreement  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

NOTES = (43.0, 50.0, 57.0, 64.0, 71.0)  # G2 D3 A3 E4 B4
NOTE_BEATS, REST_BEATS, BPM = 2.0, 3.0, 60.0  # a note every 5 s: longer than a render (4.088 s)
WAYS = {"heard": True, "note_pitch": False}  # play's read_pitch
NOTE_PITCH = PARAM_SPECS[PARAM_INDEX["note_pitch"]]


def judged_notes(patch: torch.Tensor, read_pitch: bool) -> list[dict]:
    """``patch`` played as :data:`NOTES` one way; per note it can play: the written note, what CREPE heard (Hz, or
    None: no clear pitch) and the verdict."""
    offset = placement(patch, read_pitch)[0]
    playable = [n for n in NOTES if NOTE_PITCH.low <= n - offset <= NOTE_PITCH.high]
    if not playable:
        return []
    events = [e for note in playable for e in (PhraseEvent((note,), NOTE_BEATS), PhraseEvent((), REST_BEATS))]
    phrase = play(patch, events, BPM, read_pitch=read_pitch)
    length, step = DEFAULT_CONFIG.num_samples, round((NOTE_BEATS + REST_BEATS) * 60 / BPM * DEFAULT_CONFIG.sample_rate)
    audio = F.pad(phrase.audio, (0, len(playable) * step))
    estimate = estimate_pitch(torch.stack([audio[k * step:k * step + length] for k in range(len(playable))]))
    written = torch.tensor([midi_to_hz(n) for n in playable])
    agreement = pitch_agreement(estimate.f0_hz, written)
    verdicts = ["none" if not clear else "on" if bool(match) else "octave" if bool(octave) else "off"
                for clear, match, octave in zip(estimate.clear, agreement["match"], agreement["octave_error"])]
    return [{"note": note, "heard_hz": None if not clear else round(float(f0), 2), "verdict": verdict,
             "cents": None if not clear else round(float(c), 1)}
            for note, f0, clear, c, verdict in zip(playable, estimate.f0_hz, estimate.clear, agreement["cents"],
                                                   verdicts)]


def patch_sets(args: argparse.Namespace, folder: Path) -> dict[str, list[tuple[str, torch.Tensor]]]:
    """The patches judged, by set: held-out prior-2 rows, and predict's candidates for sox and fluidsynth notes."""
    file, _ = open_complete(args.data)
    with file:
        rows = torch.from_numpy(file[PARAMS][:args.patches])
    sets = {"prior-2 held-out": [(f"{args.data.stem}[{i}]", row) for i, row in enumerate(rows)]}
    missing = missing_tools()
    external = {"sox": sox_notes(folder / "sox", args.sox) if "sox" not in missing else [],
                "fluidsynth": fluidsynth_notes(folder / "gm", args.fluidsynth) if "fluidsynth" not in missing else []}
    predictor = None
    for name, targets in external.items():
        sets[f"{name} candidates"] = []
        for stem, path in targets:
            predictor = predictor or Predictor.from_checkpoint()
            prediction = predictor.predict(load_any_target(path), 10)
            sets[f"{name} candidates"] += [(f"{stem} #{k}", row) for k, row in
                                           enumerate(prediction.candidates.params, start=1)]
            print(f"predicted {stem}", flush=True)
    return sets


def judge_clear_patches(args: argparse.Namespace, judge: Callable[[torch.Tensor, Path], dict]) -> list[dict]:
    """``judge(patch, scratch folder)`` of every patch of :func:`patch_sets` with one clear pitch as it is, as records
    ``{"set", "name", **judged}`` appended to ``args.out / "records.jsonl"`` one by one (a rerun reads those back and
    judges only the others)."""
    records_path = args.out / "records.jsonl"
    done = {(r["set"], r["name"]): r for r in read_records(records_path)}
    records = []
    with tempfile.TemporaryDirectory() as folder:
        for set_name, patches in patch_sets(args, Path(folder)).items():
            own = estimate_pitch(torch.cat([render(chunk, path="auto") for chunk in
                                            torch.stack([p for _, p in patches]).split(64)])) if patches else None
            for k, (name, patch) in enumerate(patches):
                if (set_name, name) in done:
                    records.append(done[(set_name, name)])
                    continue
                if not bool(own.clear[k]):
                    continue
                record = {"set": set_name, "name": name, **judge(patch, Path(folder))}
                append_record(records_path, record)
                records.append(record)
            print(f"{set_name}: {sum(r['set'] == set_name for r in records)} patches judged", flush=True)
    return records


def summarise(records: list[dict]) -> dict:
    """Per set and way: patches judged, notes played, and the share of notes on the written pitch, an octave off,
    otherwise off and without a clear pitch."""
    out = {}
    for record in records:
        for way in WAYS:
            row = out.setdefault(record["set"], {}).setdefault(way, {"patches": 0, "notes": 0, "on": 0, "octave": 0,
                                                                     "off": 0, "none": 0, "abs_cents": []})
            row["patches"] += 1
            for judged in record[way]:
                row["notes"] += 1
                row[judged["verdict"]] += 1
                if judged["verdict"] == "on":
                    row["abs_cents"].append(abs(judged["cents"]))
    for ways in out.values():
        for row in ways.values():
            cents = sorted(row.pop("abs_cents"))
            row["median_abs_cents_on"] = cents[len(cents) // 2] if cents else None
    return out


def markdown(results: dict) -> str:
    lines = ["# `synth play`: each note at the pitch written?", "", f"`{results['command']}` (commit "
             f"{results['commit']}, {results['machine']['cpu_model']}, load {results['load_before']} -> "
             f"{results['load_after']}, {results['minutes']:.1f} minutes)", "",
             f"Notes G2 D3 A3 E4 B4 played by each patch with one clear pitch, read by CREPE: on the note within "
             f"{CENTS_TOLERANCE:g} cents, an octave error, otherwise off, or no clear pitch heard.", "",
             "| patches | way | patches | notes | on the note | octave error | off | no clear pitch | median cents "
             "(on) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, ways in results["summary"].items():
        for way, row in ways.items():
            share = {k: f"{row[k]} ({100 * row[k] / max(1, row['notes']):.1f} %)" for k in ("on", "octave", "off",
                                                                                          "none")}
            label = "heard (default)" if way == "heard" else "`--as-note-pitch`"
            lines.append(f"| {name} | {label} | {row['patches']} | {row['notes']} | {share['on']} | "
                         f"{share['octave']} | {share['off']} | {share['none']} | {row['median_abs_cents_on']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/test_p2.h5"), help="held-out patches (prior 2)")
    parser.add_argument("--patches", type=int, default=200, help="its first rows judged (default 200)")
    parser.add_argument("--sox", type=int, default=8, help="sox notes whose candidates are judged (default 8)")
    parser.add_argument("--fluidsynth", type=int, default=6, help="fluidsynth notes (default 6)")
    parser.add_argument("--out", type=Path, default=RESULTS / "phrase_pitch")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started, load_before = time.time(), load_average()
    records = judge_clear_patches(args, lambda patch, _: {way: judged_notes(patch, read) for way, read in
                                                          WAYS.items()})
    results = {"command": command_line(), "commit": git_commit(), "machine": machine_info(),
               "load_before": load_before, "load_after": load_average(), "minutes": (time.time() - started) / 60,
               "summary": summarise(records)}
    json_path, md_path = write_results(args.out, "phrase_pitch", results, markdown(results))
    print(markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
