"""A DC offset under an audio target: ``inverse predict`` with it removed (:mod:`inverse.dc_offset`, the default)
against matched as it is, in the same run on the same targets, each answer judged against the clean note.

    python benchmarks/dc_offset.py [--sox 6] [--fluidsynth 4] [--offsets 0.02 0.1 0.3] \
        [--out benchmarks/results/dc_offset]

Targets: the benchmarks' sox notes and fluidsynth (General MIDI) notes, peak-normalised to -6 dBFS, each with sox's
``dcshift`` at every offset of ``--offsets`` (full scale; 0.02 is -34 dBFS, 0.3 -10 dBFS; none clips). Each is
answered from its WAV file (``inverse predict FILE --samples 10``, every default) both ways: "removed" as shipped,
"kept" with the offset left in the target (:func:`inverse.dc_offset.remove_offset` made a no-op). What a user wanted
is the note without the offset, so the ten are scored against the clean note's file: best-of-10 multi-scale log-mel
distance (MSS) and how many of the ten are on its pitch. Records go to ``records.jsonl`` as each target is answered (a
rerun skips those there); ``dc_offset.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import RESULTS, command_line, git_commit, load_average, machine_info, write_results  # noqa: E402
from external_sounds import fluidsynth_notes, missing_tools, sox_notes  # noqa: E402
from short_pitch import answer_table, answers, judge, records_table, summary  # noqa: E402

import inverse.target  # noqa: E402
from inverse.dc_offset import remove_offset  # noqa: E402
from inverse.target import load_any_target, score  # noqa: E402

WAYS = ("removed", "kept")


def offset_notes(clean: list[tuple[str, Path]], offsets: list[float], folder: Path) -> dict[str, list]:
    """Per offset, every clean note peak-normalised to -6 dBFS with that offset added by sox: ``{offset name:
    [(name, path, NaN)]}``; the clean note (normalised the same way) of each ``name`` in ``folder / clean``."""
    (folder / "clean").mkdir(parents=True, exist_ok=True)
    sets = {}
    for offset in offsets:
        out = folder / f"dc{offset:g}"
        out.mkdir(parents=True, exist_ok=True)
        rows = []
        for name, path in clean:
            subprocess.run(["sox", "-D", str(path), str(folder / "clean" / f"{name}.wav"), "gain", "-n", "-6"],
                           check=True)
            shifted = out / f"{name}.wav"
            subprocess.run(["sox", "-D", str(folder / "clean" / f"{name}.wav"), str(shifted), "dcshift", str(offset)],
                           check=True)
            rows.append((f"{name}@dc{offset:g}", shifted, math.nan))
        sets[f"offset {offset:g}"] = rows
    return sets


@contextmanager
def offset_way(way: str):
    """Within the block, audio targets keep their DC offset where ``way`` is "kept"."""
    if way == WAYS[1]:
        inverse.target.remove_offset = lambda audio: (audio, None)
    try:
        yield
    finally:
        inverse.target.remove_offset = remove_offset


def judged_against_clean(folder: Path):
    """``answers``' judge: :func:`short_pitch.judge` of the ten rescored against the clean note's file (its MSS, and
    the pitch check's reading of the clean note)."""
    def judged(prediction, f0_hz: float, seconds: float, name: str) -> dict:
        clean = load_any_target(folder / "clean" / f"{name.split('@')[0]}.wav")
        candidates = replace(prediction.candidates, scores=score(prediction.candidates.params, clean))
        record = judge(replace(prediction, candidates=candidates), f0_hz, seconds)
        record["offset_read"] = next((note for note in prediction.target.notes if "DC offset" in note), None)
        return record
    return judged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sox", type=int, default=6, help="sox notes (default 6)")
    parser.add_argument("--fluidsynth", type=int, default=4, help="fluidsynth notes (default 4)")
    parser.add_argument("--offsets", type=float, nargs="+", default=[0.02, 0.1, 0.3],
                        help="DC offsets added, full scale (default 0.02 0.1 0.3)")
    parser.add_argument("--out", type=Path, default=RESULTS / "dc_offset")
    args = parser.parse_args()
    return notes_both_ways(args, "dc_offset", lambda clean, folder: offset_notes(clean, args.offsets, folder), WAYS,
                           offset_way, judged_against_clean, markdown)


def notes_both_ways(args: argparse.Namespace, name: str, variants, ways: tuple[str, str], way_context, judged_by,
                    markdown_of) -> int:
    """The run of a benchmark that answers changed copies of the external notes both ways: ``args.sox`` sox and
    ``args.fluidsynth`` fluidsynth notes, ``variants(clean notes, folder) -> sets`` (each clean note's file kept in
    ``folder / clean``), each answered inside ``way_context(way)`` for each of ``ways`` (:func:`short_pitch.answers`)
    and judged by ``judged_by(folder)``; ``NAME.{json,md}`` (``markdown_of(results)``) into ``args.out``."""
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clean = sox_notes(folder / "sox", args.sox) + fluidsynth_notes(folder / "fluidsynth", args.fluidsynth)
        records = answers(variants(clean, folder), args.out / "records.jsonl", ways, way_context, judged_by(folder))
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records, ways)}
    json_path, md_path = write_results(args.out, name, results, markdown_of(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    lines = ["# A DC offset under the target: removed (the default) against matched as it is", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each target (a clean note, -6 dBFS peak, with sox's `dcshift`) answered by the shipped default "
             "(`inverse predict FILE --samples 10`) each way; the ten scored against the clean note. Change: "
             "mean(removed) / mean(kept) - 1 of the best-of-10 MSS with its 95 % bootstrap interval over targets.", "",
             *answer_table(results["summary"], WAYS), "", *records_table(results["records"], WAYS)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
