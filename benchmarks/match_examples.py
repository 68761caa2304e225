"""What `inverse predict` returns for sounds people bring: the first sox note and the first fluidsynth note of
the quality benchmark's out-of-domain sets (not chosen by their result), with the shipped model, index and
defaults; per sound a comparison figure (docs/) and the target's and each candidate's pitch (CREPE).

    python benchmarks/match_examples.py [--out benchmarks/results] [--figures docs]

Writes ``match_examples.{json,md}`` and ``docs/match_{sox,fluidsynth}.png``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402
from benchmarks.external_sounds import fluidsynth_notes, missing_tools, sox_notes  # noqa: E402
from inverse.figures import comparison_figure  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from synth.pitch import estimate_pitch, pitch_agreement  # noqa: E402


def match_one(predictor: Predictor, name: str, path: Path, figure: Path) -> dict:
    start = time.perf_counter()
    prediction = predictor.predict(path, samples=10, downmix=True)
    seconds = time.perf_counter() - start
    found = prediction.candidates
    comparison_figure(prediction.target.spectrogram, found.spectrogram, found.match, figure,
                      title=f"target: {name} (inverse predict, shipped defaults)")
    pitch = estimate_pitch(torch.cat([prediction.target.audio[None], found.audio]))
    agree = pitch_agreement(pitch.f0_hz[1:], pitch.f0_hz[0].expand(found.params.shape[0]))
    return {"name": name, "seconds": round(seconds, 1), "figure": str(figure.relative_to(REPO)),
            "target_f0_hz": round(float(pitch.f0_hz[0]), 1), "target_clear_pitch": bool(pitch.clear[0]),
            "candidates": [{"rank": k + 1, "match": round(float(found.match[k]), 3),
                            "mss": round(float(found.mss[k]), 3), "f0_hz": round(float(pitch.f0_hz[k + 1]), 1),
                            "cents": round(float(agree["cents"][k]), 1),
                            "within_50_cents": bool(agree["match"][k])} for k in range(found.params.shape[0])]}


def markdown(results: dict) -> str:
    lines = ["# `inverse predict` on sounds people bring", "", f"Command: `{results['command']}`", "",
             "The first sox note and the first fluidsynth note of `inverse_quality.py`'s out-of-domain sets, "
             "matched with the shipped model, index and defaults; pitch by CREPE (`synth/pitch.py`).", ""]
    for sound in results["sounds"]:
        within = sum(c["within_50_cents"] for c in sound["candidates"])
        lines += [f"## {sound['name']}", "",
                  f"Target pitch {sound['target_f0_hz']} Hz (clear: {sound['target_clear_pitch']}); "
                  f"{within} of {len(sound['candidates'])} candidates within 50 cents; {sound['seconds']} s; "
                  f"figure `{sound['figure']}`.", "",
                  "| rank | match | MSS | f0 (Hz) | cents off |", "|---:|---:|---:|---:|---:|"]
        lines += [f"| {c['rank']} | {c['match']:.3f} | {c['mss']:.3f} | {c['f0_hz']} | {c['cents']} |"
                  for c in sound["candidates"]]
        lines.append("")
    lines.append(f"Machine: {results['machine']['cpu_model']}; load average {results['load_average']['start']} at the "
                 f"start, {results['load_average']['end']} at the end.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--figures", type=Path, default=REPO / "docs")
    args = parser.parse_args(argv)
    missing = missing_tools()
    if missing:
        raise SystemExit(f"error: missing {', '.join(missing)} (apt-get install sox fluidsynth fluid-soundfont-gm)")
    load_start = load_average()
    predictor = Predictor.from_checkpoint()
    sounds = []
    with tempfile.TemporaryDirectory() as folder:
        made = [("sox", *sox_notes(Path(folder) / "sox", 1)[0]),
                ("fluidsynth", *fluidsynth_notes(Path(folder) / "fluidsynth", 1)[0])]
        for source, name, path in made:
            sounds.append(match_one(predictor, name, path, args.figures / f"match_{source}.png"))
    results = {"command": command_line(), "sounds": sounds, "machine": machine_info(),
               "load_average": {"start": load_start, "end": load_average()}}
    json_path, md_path = write_results(args.out, "match_examples", results, markdown(results))
    print(md_path.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
