"""How many rows one pass of the 8-bit spectrogram should take on the CPU, written to benchmarks/results/.

    python benchmarks/spectrogram_rows.py [--rows 32] [--repeats 9] [--per-pass 1 2 4 8]
                                          [--out benchmarks/results/spectrogram_rows]

``synth.spectrogram.Spectrogram.quantized`` (what ``python -m dataset_gen`` stores for every row) works
:data:`synth.spectrogram.NO_GRAD_ROWS` rows at a time: an STFT, then a dozen elementwise passes over the rows'
power, dB and 8-bit levels. This times it on ``--rows`` rows of prior-2 audio for each ``--per-pass`` value,
interleaved (the order rotates every repeat, medians after a warm-up), in two fresh processes: one torch thread
pinned to one CPU (what each of ``dataset_gen``'s render workers runs) and two threads (one process rendering
alone). Every setting must give the same bytes (checked).

Results: ``OUT.json`` (every reading, machine, load average, command line) and ``OUT.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import RESULTS, command_line, git_commit, load_average, machine_info, run_child  # noqa: E402

CHILD = r"""
import hashlib, json, os, sys, time, torch
sys.path.insert(0, ".")
threads, rows, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
per_pass = [int(v) for v in sys.argv[4].split(",")]
if threads == 1:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
torch.set_num_threads(threads)
import synth.spectrogram as spectrogram
from synth import prior, render
audio = render(prior.draw(7, 0, rows, "uniform", "2"), path="eager")
spec = spectrogram.Spectrogram()
readings, digests = {k: [] for k in per_pass}, {}
for k in per_pass:  # warm-up, and the bytes each setting gives
    spectrogram.NO_GRAD_ROWS = k
    digests[k] = hashlib.sha256(spec.quantized(audio).numpy().tobytes()).hexdigest()
for r in range(repeats):
    for k in per_pass[r % len(per_pass):] + per_pass[:r % len(per_pass)]:
        spectrogram.NO_GRAD_ROWS = k
        start = time.perf_counter()
        spec.quantized(audio)
        readings[k].append((time.perf_counter() - start) / rows * 1e3)
print(json.dumps({"readings_ms_per_row": readings, "same_bytes": len(set(digests.values())) == 1}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--per-pass", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--out", type=Path, default=RESULTS / "spectrogram_rows")
    args = parser.parse_args()
    load_start = load_average()
    settings = {}
    for threads in (1, 2):
        child = run_child(CHILD, str(threads), str(args.rows), str(args.repeats),
                          ",".join(str(k) for k in args.per_pass))
        settings[threads] = child
        print(f"{threads} thread(s): " + ", ".join(
            f"{k} rows/pass {statistics.median(v):.2f} ms/row" for k, v in child["readings_ms_per_row"].items()))
    results = {"command": command_line(), "commit": git_commit(), "machine": machine_info(),
               "load_average": {"start": load_start, "end": load_average()}, "rows": args.rows,
               "repeats": args.repeats, "settings": settings}
    lines = ["# The 8-bit spectrogram: rows per pass on the CPU", "",
             f"`{results['command']}` at {results['commit']}: {results['machine']['cpu_model']}, "
             f"{args.rows} rows of prior-2 audio, medians of {args.repeats} interleaved repeats (ms per row; min-max). "
             f"1-minute load average {load_start[0]:.1f} at the start, {results['load_average']['end'][0]:.1f} at "
             "the end.", "",
             "| rows per pass | 1 thread, pinned (a render worker) | 2 threads |", "|---|---|---|"]
    for k in args.per_pass:
        cells = []
        for threads in (1, 2):
            v = settings[threads]["readings_ms_per_row"][str(k)]
            cells.append(f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})")
        lines.append(f"| {k} | {' | '.join(cells)} |")
    same = all(s["same_bytes"] for s in settings.values())
    lines += ["", f"Every setting gave the same bytes: {'yes' if same else '**no**'}.", ""]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "spectrogram_rows.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "spectrogram_rows.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
