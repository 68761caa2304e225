"""``inverse predict --each-note`` on sounds in several parts with silence between them (a drum loop's hits, staccato
notes): each part answered from its own span of the file against the whole file's one answer, in the same run, both
judged against the part.

    python benchmarks/each_part.py [--out benchmarks/results/each_part]

Targets: :mod:`separate_parts`' General MIDI drum loops (four hits each, 90-150 BPM) and staccato sox runs (3-5 notes
with silence between them), each read as ``predict`` reads it. Where it reads as several parts
(:func:`inverse.parts.sounding_parts`), each part is answered (``--samples 10``, every default) from its span
(:func:`inverse.parts.part_spans`: from its start to the next part's, the last to the end of the 4.088 s read), as
``--each-note`` does; the whole file is answered once, as without it. Both answers' ten are scored against the part
(the file read with that span's ``--start`` and ``--length``): best-of-10 multi-scale log-mel distance (MSS) and, for
the staccato notes, how many of the ten are on the note's pitch. Records go to ``records.jsonl`` as each file is done
(a rerun skips those there); ``each_part.{json,md}`` at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

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
from external_sounds import missing_tools  # noqa: E402
from separate_parts import STACCATO, drum_loops, staccato  # noqa: E402
from short_pitch import answer_table, judge, records_table, summary  # noqa: E402

from inverse.parts import part_spans  # noqa: E402
from inverse.predict import Predictor  # noqa: E402
from inverse.target import load_any_target, score  # noqa: E402
from synth.pitch import midi_to_hz  # noqa: E402

WAYS = ("each part", "whole file")
_SEMITONES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def note_hz(name: str) -> float:
    """The frequency (Hz) of a note name such as ``A3`` (sox's names; A4 = 440 Hz)."""
    return midi_to_hz(12 * (int(name[1:]) + 1) + _SEMITONES[name[0]])


def answered(predictor: Predictor, path: Path) -> list[dict]:
    """The records of one file: per part (none where it reads as one part), :func:`short_pitch.judge` of the part's own
    answer and of the whole file's, both scored against the part."""
    whole_target = load_any_target(path, downmix=True)
    if not whole_target.parts:
        return []
    started = time.perf_counter()
    whole = predictor.predict(whole_target, 10)
    whole_seconds = time.perf_counter() - started
    spans = part_spans(whole_target.parts)
    records = []
    for k, (begin, length) in enumerate(spans, start=1):
        part = load_any_target(path, downmix=True, start=whole_target.start_s + begin, length=length)
        started = time.perf_counter()
        own = predictor.predict(part, 10)
        seconds = time.perf_counter() - started
        record = {"name": f"{path.stem} part {k}", "start_s": round(whole_target.start_s + begin, 3),
                  "length_s": round(length, 3)}
        for way, prediction, spent in ((WAYS[0], own, seconds), (WAYS[1], whole, whole_seconds)):
            candidates = replace(prediction.candidates, scores=score(prediction.candidates.params, part))
            record[way] = replace(prediction, candidates=candidates), spent
        records.append(record)
    return records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "each_part")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed (.ci/run installs them)")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    records_path = args.out / "records.jsonl"
    done = read_records(records_path)
    finished = {r["file"] for r in done}
    records, predictor = list(done), None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sets = {"drum loops": [(path, None) for _, path in drum_loops(folder)[1]],
                "staccato": [(path, note_hz(note)) for (_, path), (_, note, *_) in
                             zip(staccato(folder / "staccato"), STACCATO)]}
        for set_name, files in sets.items():
            for path, f0_hz in files:
                if path.stem in finished:
                    continue
                predictor = predictor or Predictor.from_checkpoint()
                for record in answered(predictor, path):
                    judged = {way: judge(prediction, float("nan") if f0_hz is None else f0_hz, spent)
                              for way, (prediction, spent) in ((w, record.pop(w)) for w in WAYS)}
                    record = {"set": set_name, "file": path.stem, "f0_hz": f0_hz, **record, **judged}
                    append_record(records_path, record)
                    records.append(record)
                    print(f"{set_name} {record['name']}: " + ", ".join(
                        f"{way} {judged[way]['best_mss']:.4f}" for way in WAYS), flush=True)
    results = {"command": command_line(), "commit": git_commit(), "load_average": load_average(),
               "machine": machine_info(), "records": records, "summary": summary(records, WAYS)}
    json_path, md_path = write_results(args.out, "each_part", results, markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict) -> str:
    lines = ["# `--each-note` on sounds in several parts: each part answered alone against the whole file's answer", "",
             f"Command: `{results['command']}` (commit {results['commit']}, load average {results['load_average']})",
             "", "Each part of each file answered from its own span (`inverse predict FILE --each-note --samples 10`, "
             "every default) and the whole file answered once (without `--each-note`); both answers' ten scored "
             "against the part. Change: mean(each part) / mean(whole file) - 1 of the best-of-10 MSS with its 95 % "
             "bootstrap interval over parts.", "", *answer_table(results["summary"], WAYS), "",
             *records_table(results["records"], WAYS)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
