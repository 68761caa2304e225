"""A click or pop before the sound (a recording's start, an edit): :func:`inverse.onset.lead_in` with clicks counted
as part of the lead-in (the default) against as before, in the same run on the same audio.

    python benchmarks/click_lead_in.py [--detector-rows 2048] [--out benchmarks/results/click_lead_in]

Audio, each read both ways:

- **false lead-ins**: ``--detector-rows`` renders of each of the synth's priors (seed 9: every patch starts at 0 s),
  the first 20 sounds each of sox, fluidsynth and espeak-ng (:mod:`onset_alignment`'s, -6 dBFS peak), 12 General MIDI
  drum hits and 8 sox one-shots, :mod:`separate_parts`' drum loops and staccato runs: how many lead-ins are found
  (each one on a render is false);
- **clicks**: the same 60 sounds after 0.125-1 s of digital silence (uniform, seed 0) with, at its start, one sample
  at -6 dBFS, one at -30 dBFS, a 5 ms Hann burst at -6 dBFS, two one-sample clicks 80 ms apart, or one sample at
  -6 dBFS with the whole under white noise at -60 dBFS: how many are read from the sound (skipped to within 0.1 s),
  and how late the latest start found is.

What reading past a lead-in does to the answers is in ``benchmarks/results/onset_alignment/`` (a sound matched late
is 33 % further from the sound than on time). Writes ``click_lead_in.{json,md}``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from external_sounds import missing_tools, sox_one_shots  # noqa: E402
from onset_alignment import PEAK, RATE, external_sounds, with_lead_in  # noqa: E402
from separate_parts import drum_loops, staccato  # noqa: E402

import inverse.onset  # noqa: E402
from inverse.onset import lead_in  # noqa: E402
from synth.inputs import load_audio  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

WAYS = ("clicks skipped", "as before")
_CLICK_RUNS = inverse.onset._click_runs


@contextmanager
def click_way(way: str):
    """Within the block, :func:`lead_in` takes a click for the sound's start where ``way`` is "as before"."""
    if way == WAYS[1]:
        inverse.onset._click_runs = lambda level, floor: []
    try:
        yield
    finally:
        inverse.onset._click_runs = _CLICK_RUNS


def click(kind: str) -> tuple[torch.Tensor, float | None]:
    """The samples a lead-in of ``kind`` starts with, and the white noise under the whole (dBFS RMS; None: none)."""
    one = torch.zeros(1)
    if kind == "one sample, -6 dBFS":
        return one + 0.5, None
    if kind == "one sample, -30 dBFS":
        return one + 10 ** (-30 / 20), None
    if kind == "5 ms burst, -6 dBFS":
        return 0.5 * torch.hann_window(80, periodic=False) * torch.sin(torch.arange(80) * 0.9), None
    if kind == "two samples 80 ms apart":
        two = torch.zeros(round(0.08 * RATE) + 1)
        two[0], two[-1] = 0.5, -0.4
        return two, None
    if kind == "one sample under noise at -60 dBFS":
        return one + 0.5, -60.0
    raise ValueError(kind)


KINDS = ("one sample, -6 dBFS", "one sample, -30 dBFS", "5 ms burst, -6 dBFS", "two samples 80 ms apart",
         "one sample under noise at -60 dBFS")


def false_lead_ins(sets: dict[str, list[torch.Tensor]]) -> dict:
    """Per set and way: how many of its audio clips have a lead-in found, and the longest."""
    out = {}
    for name, clips in sets.items():
        out[name] = {"clips": len(clips)}
        for way in WAYS:
            with click_way(way):
                found = [lead_in(a) / RATE for a in clips]
            out[name][way] = {"lead_ins": sum(s > 0 for s in found), "longest_s": max(found, default=0.0)}
        print(f"{name}: " + ", ".join(f"{way} {out[name][way]['lead_ins']}" for way in WAYS), flush=True)
    return out


def after_clicks(sounds: list[torch.Tensor]) -> dict:
    """Per click kind and way: how many of ``sounds`` after a click and 0.125-1 s of silence are read from the sound
    (to within 0.1 s), and the latest and median error (seconds)."""
    out = {}
    own = [lead_in(audio) for audio in sounds]
    for kind in KINDS:
        generator = torch.Generator().manual_seed(0)
        start, noise = click(kind)
        padded, pads = [], []
        for audio in sounds:
            pad = int(torch.randint(RATE // 8, RATE, (1,), generator=generator))
            clip = with_lead_in(audio, pad, noise, generator)
            clip[: start.numel()] += start
            padded.append(clip[: DEFAULT_CONFIG.num_samples])
            pads.append(pad)
        out[kind] = {"clips": len(sounds)}
        for way in WAYS:
            with click_way(way):
                errors = [(lead_in(clip) - pad - before) / RATE for clip, pad, before in zip(padded, pads, own)]
            out[kind][way] = {"read_from_the_sound": sum(abs(e) < 0.1 for e in errors), "latest_s": max(errors),
                              "median_error_s": statistics.median(errors)}
        print(f"{kind}: " + ", ".join(f"{way} {out[kind][way]['read_from_the_sound']}" for way in WAYS), flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detector-rows", type=int, default=2048, help="prior renders per prior (default 2048)")
    parser.add_argument("--out", type=Path, default=RESULTS / "click_lead_in")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sounds = [audio for _, _, audio in external_sounds(folder, 20)]
        hits, loops = drum_loops(folder / "drums")

        def read(files: list[tuple[str, Path]]) -> list[torch.Tensor]:
            clips = [load_audio(path, downmix=True)[0] for _, path in files]
            return [clip * (PEAK / float(clip.abs().max())) for clip in clips]

        sets = {f"prior {prior}": torch.cat([render(draw(9, 0, args.detector_rows, prior=prior)[i: i + 128])
                                             for i in range(0, args.detector_rows, 128)]).unbind(0)
                for prior in ("1", "2")}
        sets.update({"sox, fluidsynth and espeak-ng sounds": sounds,
                     "drum hits and sox one-shots": read(hits + sox_one_shots(folder / "shots", 8)),
                     "drum loops and staccato runs": read(loops + staccato(folder / "staccato"))})
        found = {"false lead-ins": false_lead_ins(sets), "after a click": after_clicks(sounds)}
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), **found}
    json_path, md_path = write_results(args.out, "click_lead_in", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    lines = ["# A click before the sound: part of the lead-in (the default) against the sound's start as before", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Lead-ins found where there is none (each one a false lead-in):", "",
             f"| audio | clips | {WAYS[0]} | {WAYS[1]} |", "|---|---:|---:|---:|"]
    for name, row in results["false lead-ins"].items():
        lines.append(f"| {name} | {row['clips']} | " + " | ".join(
            f"{row[way]['lead_ins']} (longest {row[way]['longest_s']:.3f} s)" for way in WAYS) + " |")
    lines += ["", "The 60 sounds after a click and 0.125-1 s of silence: read from the sound (to within 0.1 s; "
              "latest, median error in seconds):", "", f"| click | clips | {WAYS[0]} | {WAYS[1]} |",
              "|---|---:|---:|---:|"]
    for kind, row in results["after a click"].items():
        lines.append(f"| {kind} | {row['clips']} | " + " | ".join(
            f"{row[way]['read_from_the_sound']} ({row[way]['latest_s']:+.3f}, {row[way]['median_error_s']:+.3f})"
            for way in WAYS) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
