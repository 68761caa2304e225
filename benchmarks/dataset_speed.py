"""Dataset generation and reading speed on this machine (CPU), written to benchmarks/results/.

    python benchmarks/dataset_speed.py [--n 256] [--batch-size 32] [--memory-n 1000 10000]
                                       [--memory-render real|stub] [--reader-examples 8000] [--cli-n 256]
                                       [--baseline REV]

Measures, in one run:

1. end-to-end ``generate`` throughput (examples/s) for lzf, gzip and none on each synth render path (eager;
   fast, :mod:`synth.fast_render`), each right after a render-only pass over the same rows (prior + synth +
   spectrogram + quantize, nothing written), so the ratio end-to-end / render-only shows what writing costs
   when it overlaps rendering (target: >= 80 %); the pairs are repeated ``--repeats`` times, interleaved,
   and the medians reported (single runs of a few seconds vary by +-15 % on a shared 2-core machine);
   then ``python -m dataset_gen --n CLI_N`` itself in fresh processes, ``--render eager`` and ``--render
   fast`` interleaved (start-up, imports and loading the compiled library included); with ``--baseline REV`` the
   same command as of git revision REV too (both paths, from a temporary worktree, interleaved): target, this
   checkout's fast >= 3x the eager path as it was before the fast render;
2. bytes per example on disk for each compression;
3. peak resident memory of ``python -m dataset_gen`` for two dataset sizes (it must not grow with N). With
   ``--memory-render stub`` the synth is replaced by a cheap stand-in in that child process (same shapes,
   same pipeline and writer) so that N = 10,000 fits in minutes; the report says which was used;
4. reader throughput: ``DataLoader(SpectrogramDataset, num_workers=2, batch_size=64)`` from a local file
   (target: >= 2,000 examples/s).

Results: ``benchmarks/results/dataset_speed.json`` and ``.md``, with the exact command line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import torch
from torch.utils.data import DataLoader

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dataset_gen.generate import GenerateOptions, generate  # noqa: E402
from dataset_gen.layout import COMPRESSIONS  # noqa: E402
from dataset_gen.reader import SpectrogramDataset, collate  # noqa: E402
from dataset_gen.rendering import ExampleRenderer  # noqa: E402
from synth import fast_render  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from common import worktree  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
SEED = 0
PATHS = ("eager", "fast")

# Child process for the memory measurement: runs the real CLI and prints its peak RSS (KiB) last.
_MEMORY_CHILD = """
import resource, sys
from synth.allocator import tune_allocator
tune_allocator()  # as python -m dataset_gen does at start-up
if sys.argv[1] == "stub":
    import math, torch, synth
    def stub(params, path="eager"):  # same shapes as the synth, a few decaying partials; no synth DSP
        t = torch.arange(65408, dtype=torch.float32, device=params.device) / 16000
        f = 60 + 1500 * params[:, :4, None]
        return (torch.sin(2 * math.pi * f * t) * torch.exp(-t * 4 * params[:, 4:8, None])).mean(1) * 0.5
    synth.render = stub
from dataset_gen.cli import main
status = main(sys.argv[2:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(status)
"""


def render_only(n: int, batch_size: int, path: str) -> float:
    """Examples/s of the rendering half of generation (nothing written)."""
    renderer = ExampleRenderer(SEED, "uniform", DEFAULT_CONFIG, "cpu", render_path=path)
    start = time.perf_counter()
    for first in range(0, n, batch_size):
        renderer.render(first, min(batch_size, n - first))
    return n / (time.perf_counter() - start)


def end_to_end(n: int, batch_size: int, compression: str, out: Path, path: str) -> tuple[float, float]:
    """(examples/s, bytes per example) of a full ``generate`` run."""
    summary = generate(GenerateOptions(num_rows=n, out=out, seed=SEED, batch_size=batch_size,
                                       compression=compression, render=path, overwrite=True), progress=False)
    return summary.examples_per_second, summary.bytes_per_example


def cli_run(n: int, batch_size: int, out: Path, path: str, cwd: Path = REPO) -> float:
    """Wall seconds of ``python -m dataset_gen --n n --render path`` in a fresh process (default lzf), run from
    ``cwd`` (this checkout, or a worktree of the baseline revision)."""
    command = [sys.executable, "-m", "dataset_gen", "--n", str(n), "--out", str(out), "--batch-size",
               str(batch_size), "--render", path, "--threads", str(torch.get_num_threads()), "--overwrite",
               "--quiet"]
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start


def peak_memory_kib(n: int, batch_size: int, out: Path, render: str) -> tuple[int, float]:
    """(peak RSS in KiB, seconds) of ``python -m dataset_gen --n n`` in a fresh process."""
    command = [sys.executable, "-c", _MEMORY_CHILD, render, "--n", str(n), "--out", str(out), "--batch-size",
               str(batch_size), "--compression", "none", "--threads", str(torch.get_num_threads()),
               "--overwrite", "--quiet"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return int(result.stdout.strip().splitlines()[-1]), time.perf_counter() - start


def compression_levels(source: Path, rows: int = 64) -> dict:
    """Bytes and write/read milliseconds per example for each HDF5 filter, on ``rows`` stored spectrograms."""
    with h5py.File(source, "r") as f:
        data = f["spectrograms"][:rows]
    options = {"lzf": {"compression": "lzf"}, "none": {}}
    options.update({f"gzip-{level}": {"compression": "gzip", "compression_opts": level} for level in (1, 4, 6)})
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kwargs in options.items():
            path = Path(tmp) / f"{name}.h5"
            with h5py.File(path, "w") as f:
                dset = f.create_dataset("s", shape=data.shape, dtype=data.dtype, chunks=(1, *data.shape[1:]),
                                        fletcher32=True, **kwargs)
                start = time.perf_counter()
                dset[:] = data
                f.flush()
                write = time.perf_counter() - start
            with h5py.File(path, "r") as f:
                start = time.perf_counter()
                f["s"][()]
                read = time.perf_counter() - start
            out[name] = {"bytes_per_example": path.stat().st_size / len(data),
                         "write_ms_per_example": 1000 * write / len(data),
                         "read_ms_per_example": 1000 * read / len(data)}
    return out


def reader_throughput(path: Path, examples: int, as_uint8: bool = False, fast_collate: bool = True,
                      workers: int = 2, batch_size: int = 64) -> float:
    """Examples/s through a shuffling DataLoader (epochs repeated until ``examples`` were read)."""
    data = SpectrogramDataset(path, as_uint8=as_uint8)
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, num_workers=workers,
                        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(0),
                        collate_fn=collate if fast_collate else None)
    seen = 0
    for _ in loader:  # warm-up epoch: worker start-up and page cache
        pass
    start = time.perf_counter()
    while seen < examples:
        for spectrograms, _params in loader:
            seen += len(spectrograms)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=256, help="rows per throughput measurement")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved render-only / end-to-end pairs")
    parser.add_argument("--memory-n", type=int, nargs=2, default=[1000, 10000])
    parser.add_argument("--memory-render", choices=("real", "stub"), default="real")
    parser.add_argument("--reader-examples", type=int, default=8000)
    parser.add_argument("--cli-n", type=int, default=256, help="rows per `python -m dataset_gen` run")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--baseline", metavar="REV", default=None,
                        help="also run `python -m dataset_gen` (both render paths) as of this git revision, "
                             "interleaved with this checkout's runs: the before of a before/after")
    parser.add_argument("--out", type=Path, default=RESULTS / "dataset_speed")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite OUT.md from OUT.json, measure nothing")
    args = parser.parse_args()
    if args.markdown_only:
        args.out.with_suffix(".md").write_text(markdown(json.loads(args.out.with_suffix(".json").read_text())))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    results: dict = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "torch": torch.__version__, "h5py": h5py.version.version,
                    "hdf5": h5py.version.hdf5_version},
        "n": args.n, "batch_size": args.batch_size, "repeats": args.repeats,
        "load_average_at_start": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        build_start = time.perf_counter()
        fast_render.build(log=print)
        results["fast_build_s"] = time.perf_counter() - build_start
        for path in PATHS:  # warm-up: first-call costs are not throughput
            render_only(args.batch_size, args.batch_size, path)
        runs: dict[tuple[str, str], list[tuple[float, float, float]]] = {
            (c, p): [] for c in COMPRESSIONS for p in PATHS}
        for _ in range(args.repeats):
            for compression in COMPRESSIONS:
                for path in PATHS:
                    render_rate = render_only(args.n, args.batch_size, path)
                    rate, per_example = end_to_end(args.n, args.batch_size, compression,
                                                   tmp / f"{compression}_{path}.h5", path)
                    runs[compression, path].append((render_rate, rate, per_example))
                    print(f"{compression}, {path}: render-only {render_rate:.1f}/s, end-to-end {rate:.1f}/s "
                          f"({100 * rate / render_rate:.0f} %), {per_example:,.0f} bytes/example", flush=True)
        results["generation"] = {}
        for (compression, path), pairs in runs.items():
            results["generation"][f"{compression}, {path}"] = {
                "render_only_examples_per_s": statistics.median(p[0] for p in pairs),
                "end_to_end_examples_per_s": statistics.median(p[1] for p in pairs),
                "ratio": statistics.median(p[1] / p[0] for p in pairs),
                "ratios": [p[1] / p[0] for p in pairs],
                "bytes_per_example": pairs[-1][2]}
        with contextlib.ExitStack() as stack:
            sides = {path: (path, REPO) for path in PATHS}
            if args.baseline:
                tree = stack.enter_context(worktree(args.baseline, tmp / "baseline"))
                sides |= {f"{path} at {args.baseline}": (path, tree) for path in PATHS}
                cli_run(args.batch_size, args.batch_size, tmp / "warm.h5", "fast", tree)  # builds its fast render
            cli: dict[str, list[float]] = {name: [] for name in sides}
            for _ in range(args.repeats):
                for name, (path, cwd) in sides.items():
                    cli[name].append(cli_run(args.cli_n, args.batch_size, tmp / "cli.h5", path, cwd))
                    print(f"python -m dataset_gen --n {args.cli_n} --render {name}: {cli[name][-1]:.1f} s", flush=True)
        results["cli"] = {"n": args.cli_n, "compression": "lzf", "seconds": cli, "baseline": args.baseline,
                          "examples_per_s": {name: args.cli_n / statistics.median(cli[name]) for name in cli}}
        results["filters"] = compression_levels(tmp / "none_fast.h5")
        results["reader"] = []
        variants = [(c, False, True) for c in COMPRESSIONS] + [("lzf", False, False)] + \
                   [(c, True, True) for c in COMPRESSIONS]
        for compression, as_uint8, fast_collate in variants:
            rate = reader_throughput(tmp / f"{compression}_fast.h5", args.reader_examples, as_uint8, fast_collate)
            results["reader"].append({"compression": compression, "output": "uint8" if as_uint8 else "float32",
                                      "collate": "reader.collate" if fast_collate else "default_collate",
                                      "examples_per_s": rate, "workers": 2, "batch_size": 64})
            print(f"reader ({compression}, {results['reader'][-1]['output']}, "
                  f"{results['reader'][-1]['collate']}): {rate:,.0f} examples/s", flush=True)
        results["memory"] = {"render": args.memory_render, "compression": "none", "runs": []}
        for n in args.memory_n:
            kib, seconds = peak_memory_kib(n, args.batch_size, tmp / f"memory_{n}.h5", args.memory_render)
            results["memory"]["runs"].append({"n": n, "peak_rss_mib": kib / 1024, "seconds": seconds})
            print(f"memory: N={n}: peak RSS {kib / 1024:.0f} MiB ({seconds:.0f} s)", flush=True)
    results["seconds"] = time.time() - started
    results["load_average_at_end"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Dataset generation and reading speed",
        "",
        f"`{r['command']}` on {r['date']}: {m['cpus']} CPUs ({m['torch_threads']} torch threads), "
        f"{m['platform']}, torch {m['torch']}, h5py {m['h5py']} (HDF5 {m['hdf5']}). Total {r['seconds']:.0f} s; "
        f"1-minute load average {r['load_average_at_start']:.1f} at the start, {r['load_average_at_end']:.1f} at the "
        "end (other work on this shared 2-core machine slows torch's threads a lot).",
        "",
        f"## Generation ({r['n']} examples, batch {r['batch_size']}, CPU, medians of {r['repeats']} interleaved pairs)",
        "",
        "Render-only = prior + synth + spectrogram + 8-bit quantisation, nothing written, measured right before "
        "each end-to-end run over the same rows. Target: end-to-end >= 80 % of render-only.",
        "",
        "| compression, render path | render-only (ex/s) | end-to-end (ex/s) | end-to-end / render-only (each pair) | "
        "bytes per example |",
        "|---|---|---|---|---|",
    ]
    for name, g in r["generation"].items():
        each = ", ".join(f"{100 * x:.0f}" for x in g["ratios"])
        lines.append(f"| {name} | {g['render_only_examples_per_s']:.1f} | {g['end_to_end_examples_per_s']:.1f} | "
                     f"{100 * g['ratio']:.0f} % ({each}) | {g['bytes_per_example']:,.0f} |")
    generation = r["generation"]
    for compression in COMPRESSIONS:
        eager, fast = generation.get(f"{compression}, eager"), generation.get(f"{compression}, fast")
        if eager and fast:
            lines.append(f"\n{compression}: fast / eager end-to-end "
                         f"{fast['end_to_end_examples_per_s'] / eager['end_to_end_examples_per_s']:.2f}x.")
    if "cli" in r:
        c = r["cli"]
        rates = c["examples_per_s"]
        lines += ["", f"## `python -m dataset_gen --n {c['n']}` in a fresh process ({c['compression']}, medians of "
                  f"{len(c['seconds']['eager'])} interleaved runs; start-up and loading included)", "",
                  "| render path | seconds (each run) | examples/s |", "|---|---|---|"]
        for path, seconds in c["seconds"].items():
            lines.append(f"| {path} | {', '.join(f'{x:.1f}' for x in seconds)} | {rates[path]:.1f} |")
        ratio = rates["fast"] / rates["eager"]
        lines += ["", f"fast / eager: {ratio:.2f}x. The fast render was "
                  f"{'built in this run' if r.get('fast_build_s', 0) > 5 else 'already built'} "
                  f"({r.get('fast_build_s', 0):.0f} s)."]
        if c.get("baseline"):
            rev = c["baseline"]
            today = rates["fast"] / rates[f"eager at {rev}"]
            lines += ["", f"Against {rev} in the same run: this checkout's fast / its eager (the path before the fast "
                      f"render) {today:.2f}x (target >= 3: {'met' if today >= 3 else 'NOT met'}), fast / its fast "
                      f"{rates['fast'] / rates[f'fast at {rev}']:.2f}x, eager / its eager "
                      f"{rates['eager'] / rates[f'eager at {rev}']:.2f}x."]
    lines += ["", "## HDF5 filters on 64 stored spectrograms (chunk = one example, with fletcher32)", "",
              "| filter | bytes per example | write ms per example | read ms per example |", "|---|---|---|---|"]
    for name, g in r["filters"].items():
        lines.append(f"| {name} | {g['bytes_per_example']:,.0f} | {g['write_ms_per_example']:.2f} | "
                     f"{g['read_ms_per_example']:.2f} |")
    lines += ["", "## Reader (DataLoader, 2 workers, batch 64, shuffled, local file in the page cache)", "",
              "Target: >= 2,000 examples/s. float32 is the default item; uint8 is `as_uint8=True` (dequantize "
              "where the model runs). Per example, a worker decompresses the chunk (see the filter table) and, "
              "for float32, writes 1 MiB into fresh shared memory (page faults are slow on this VM: ~0.5 ms "
              "per MiB); uint8 moves a quarter of that.", "",
              "| file compression | spectrogram output | collate_fn | examples/s |", "|---|---|---|---|"]
    for g in r["reader"]:
        lines.append(f"| {g['compression']} | {g['output']} | {g['collate']} | {g['examples_per_s']:,.0f} |")
    mem = r["memory"]
    what = ("the real synth" if mem["render"] == "real" else
            "a cheap stand-in for the synth (same shapes, same pipeline and writer), so that the large N fits")
    lines += ["", "## Peak memory of `python -m dataset_gen` (fresh process, --compression none)", "",
              f"Rendered with {what}.", "", "| N | peak RSS (MiB) | seconds |", "|---|---|---|"]
    for run in mem["runs"]:
        lines.append(f"| {run['n']:,} | {run['peak_rss_mib']:.0f} | {run['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
