"""Harmonic candidates: ``inverse predict`` with its harmonic candidates (:mod:`inverse.harmonics`, ``--harmonics
4``) against without them (the default), in the same run on the same targets.

    python benchmarks/harmonics.py [--instruments 16] [--in-domain 10] [--out benchmarks/results/harmonics]

An instrument's balance of partials (a flute's strong third, a clarinet's weak even partials, an organ's stops) is
something the synth plays with its three oscillators at multiples of the note, each a basic waveform at its own
level, but the pool rarely held such a stack and refinement cannot move the discrete offsets. With them, the
:data:`~inverse.harmonics.FITS` best fits of the target's partial amplitudes join the pool as plain patches;
"without" answers as the default does (no fit).

Targets, each answered from its WAV file (``inverse predict FILE --samples 10``) both ways:

- **instrument notes**: ``--instruments`` 2.5 s notes of General MIDI programs that neither the issue's benchmark
  (``external_sounds.fluidsynth_notes``) nor the fit's development used (organs, reeds, pipes, brass, strings, choir,
  leads, ...), by fluidsynth with FluidR3_GM;
- **fluidsynth notes**: the first ``--fluidsynth`` of the issue's benchmark notes (``external_sounds``);
- **sox notes**: the first ``--sox`` of its sox notes (basic waveforms, which plain candidates already play: a guard);
- **in-domain**: the first ``--in-domain`` held-out prior-2 patches (seed 3) with a clear pitch (only those get
  harmonic candidates), where the candidates could take the place of better ones.

Judged per answer as in ``short_pitch.py`` (best-of-10 MSS, pitch, diversity, seconds; the diversity matters:
issue 13's out-of-domain diversity target is met with nothing to spare), with the fit's reading (the
oscillators of the best fit and its dB error) beside each target. Records go to ``records.jsonl`` as each target is
answered (a rerun skips those there); ``harmonics.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from external_sounds import (  # noqa: E402
    fluidsynth_notes,
    missing_tools,
    render_midi,
    single_note_midi,
    sox_notes,
)
from short_pitch import answer_table, answers, judge, summary  # noqa: E402

from inverse.harmonics import FITS, fit_partials, partial_levels  # noqa: E402
from inverse.plain import SHAPES  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target  # noqa: E402
from synth.pitch import midi_to_hz  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402
from synth.voice import render  # noqa: E402

WAYS = ("harmonic candidates", "without")
HELD_OUT_SEED = 3
#: General MIDI programs of the instrument notes: none of ``external_sounds``' and none looked at while the fit was
#: written (0, 56, 71, 73).
PROGRAMS = (19, 68, 40, 21, 60, 74, 52, 81, 70, 22, 42, 65, 17, 79, 57, 85, 6, 75, 11, 26)
NOTES = (48, 55, 62, 69, 76)
SHAPE_NAMES = ("sine", "triangle", "saw", "pulse")
_predict = Predictor.predict
assert len(SHAPE_NAMES) == len(SHAPES)


def instrument_notes(folder: Path, count: int) -> list[tuple[str, Path, float]]:
    """The first ``count`` of :data:`PROGRAMS`, each at the next of :data:`NOTES`, 2.5 s by fluidsynth at 16 kHz:
    ``[(name, path, f0 Hz)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k, program in enumerate(PROGRAMS[:count]):
        note = NOTES[k % len(NOTES)]
        name = f"fluidsynth_gm{program:03d}_n{note}"
        render_midi(single_note_midi(program, note, seconds=2.5), folder / f"{name}.mid", folder / f"{name}.wav")
        out.append((name, folder / f"{name}.wav", midi_to_hz(note)))
    return out


def with_pitch(pairs: list[tuple[str, Path]]) -> list[tuple[str, Path, float]]:
    """``external_sounds``' ``(name, path)`` notes with the f0 their names give (``..._nNN`` MIDI for fluidsynth,
    ``sox_WAVE_NOTE`` for sox)."""
    from external_sounds import _semitones
    out = []
    for name, path in pairs:
        last = name.rsplit("_", 1)[1]
        f0 = midi_to_hz(int(last[1:])) if last.startswith("n") else 440.0 * 2.0 ** (_semitones(last) / 12.0)
        out.append((name, path, f0))
    return out


def in_domain(folder: Path, count: int) -> list[tuple[str, Path, float]]:
    """The first ``count`` held-out prior-2 patches whose target has a clear pitch, as float WAVs
    ``[(name, path, NaN)]``."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen, start = [], 0
    while len(chosen) < count and start < 500:
        audio = render(draw(HELD_OUT_SEED, start, 50, prior="2"))
        for k in range(len(audio)):
            path = folder / f"row{start + k:03d}.wav"
            soundfile.write(path, audio[k].numpy(), DEFAULT_CONFIG.sample_rate, subtype="FLOAT")
            if len(chosen) < count and not math.isnan(load_any_target(path).pitch_hz):
                chosen.append((path.stem, path, math.nan))
        start += 50
    return chosen


@contextmanager
def harmonics_way(way: str):
    """Within the block, ``predict`` adds :data:`~inverse.harmonics.FITS` harmonic candidates where ``way`` is
    "harmonic candidates" (``--harmonics 4``), and none (the default) where it is "without"."""
    if way == WAYS[0]:
        Predictor.predict = functools.partialmethod(_predict, harmonics=FITS)
    try:
        yield
    finally:
        Predictor.predict = _predict


def judged(prediction, f0_hz: float, seconds: float, name: str) -> dict:
    record = judge(prediction, f0_hz, seconds)
    target = prediction.target
    fits = [] if math.isnan(target.pitch_hz) else fit_partials(partial_levels(target.audio, target.pitch_hz), 1)
    record["fit"] = None if not fits else {
        "oscillators": [f"{SHAPE_NAMES[s]} x{m} {20 * math.log10(level):+.0f} dB" for s, m, level in
                        zip(fits[0].shapes, fits[0].multiples, fits[0].levels) if level > 0],
        "error_db": round(fits[0].error, 2)}
    return record


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instruments", type=int, default=16, help="instrument notes (default 16, at most 20)")
    parser.add_argument("--fluidsynth", type=int, default=10, help="the issue's fluidsynth notes (default 10)")
    parser.add_argument("--sox", type=int, default=6, help="the issue's sox notes (default 6)")
    parser.add_argument("--in-domain", type=int, default=10, help="held-out patches with a clear pitch (default 10)")
    parser.add_argument("--out", type=Path, default=RESULTS / "harmonics")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sets = {"instrument notes": instrument_notes(folder / "instruments", args.instruments),
                "fluidsynth notes": with_pitch(fluidsynth_notes(folder / "fluidsynth", args.fluidsynth)),
                "sox notes": with_pitch(sox_notes(folder / "sox", args.sox)),
                "in-domain": in_domain(folder / "in_domain", args.in_domain)}
        records = answers(sets, args.out / "records.jsonl", WAYS, harmonics_way, judged)
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records, WAYS)}
    json_path, md_path = write_results(args.out, "harmonics", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    lines = ["# Harmonic candidates: `inverse predict` with them against without them", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target answered by the shipped model (`inverse predict FILE --samples 10`, with `--harmonics "
             f"{FITS}` and without). Change: "
             "mean(with) / mean(without) - 1 of the best-of-10 MSS with its 95 % bootstrap interval over targets.", "",
             *answer_table(results["summary"], WAYS), "",
             "| set | target | best fit (oscillators; weighted RMS dB) | " + " | ".join(
                 f"{way}: best MSS, on pitch" for way in WAYS) + " |", "|---|---|---|---:|---:|"]
    for r in results["records"]:
        fit = r[WAYS[0]]["fit"]
        read = "-" if fit is None else f"{', '.join(fit['oscillators'])}; {fit['error_db']:.1f}"
        cells = [f"{r[way]['best_mss']:.4f}, {'-' if r[way]['on_pitch'] is None else r[way]['on_pitch']}"
                 for way in WAYS]
        lines.append(f"| {r['set']} | {r['name']} | {read} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
