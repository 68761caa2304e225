"""Dataset generation and reading speed on this machine (CPU), written to benchmarks/results/.

    python benchmarks/dataset_speed.py [--n 256] [--batch-size 32] [--memory-n 1000 10000]
                                       [--memory-render real|stub] [--reader-examples 8000] [--cli-n 256 ...]
                                       [--baseline REV]

Measures, in one run:

1. end-to-end ``generate`` throughput (examples/s) for lzf, gzip and none on each synth render path (eager;
   fast, :mod:`synth.fast_render`) in this process, and on the fast path with one render worker per CPU
   (:mod:`dataset_gen.render_workers`), each right after a render-only pass over the same rows (prior + synth +
   spectrogram + quantize, nothing written), so the ratio end-to-end / render-only shows what writing costs
   when it overlaps rendering (target: >= 80 %); the pairs are repeated ``--repeats`` times, interleaved,
   and the medians reported (single runs of a few seconds vary by +-15 % on a shared 2-core machine);
   then ``python -m dataset_gen --n CLI_N`` itself in fresh processes for each ``--cli-n``: ``--render eager``
   and ``--render fast`` in one process (``--workers 1``) and the default command (fast, one worker per CPU),
   interleaved (start-up, imports and loading the compiled library included); with ``--baseline REV`` the
   same command as of git revision REV too (both paths, from a temporary worktree, interleaved): target, this
   checkout's default >= 3x the eager path as it was before the fast render;
2. bytes per example on disk for each compression;
3. peak resident memory of ``python -m dataset_gen`` (its default: render workers) for two dataset sizes, the
   main process and the largest worker (neither may grow with N). With
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
from dataset_gen.render_workers import RenderWorkers, auto_workers, usable_cpus  # noqa: E402
from dataset_gen.rendering import ExampleRenderer  # noqa: E402
from synth import fast_render  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from common import worktree  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
SEED = 0
PATHS = ("eager", "fast")
WORKERS = auto_workers("cpu", 2**20, 1)  # one render worker per CPU (1 where there is one CPU)
#: In-process generation: (render path, render workers) per table row.
VARIANTS = (("eager", 1), ("fast", 1), ("fast", WORKERS))

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
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(status)
"""


def variant_name(path: str, workers: int) -> str:
    return path if workers == 1 else f"{path}, {workers} workers"


def render_only(n: int, batch_size: int, path: str, workers: int = 1) -> float:
    """Examples/s of the rendering half of generation (nothing written), in this process or in ``workers``
    render workers (their start-up not counted: a warm-up batch each first)."""
    ranges = [(first, min(batch_size, n - first)) for first in range(0, n, batch_size)]
    if workers == 1:
        renderer = ExampleRenderer(SEED, "uniform", DEFAULT_CONFIG, "cpu", render_path=path)
        start = time.perf_counter()
        for first, count in ranges:
            renderer.render(first, count)
        return n / (time.perf_counter() - start)
    settings = dict(seed=SEED, sampler="uniform", config=DEFAULT_CONFIG, device="cpu", render_path=path)
    with RenderWorkers(usable_cpus()[:workers], settings) as pool:
        for _ in pool.batches([(0, batch_size)] * workers):
            pass
        start = time.perf_counter()
        for _ in pool.batches(ranges):
            pass
        return n / (time.perf_counter() - start)


def end_to_end(n: int, batch_size: int, compression: str, out: Path, path: str,
               workers: int = 1) -> tuple[float, float]:
    """(examples/s, bytes per example) of a full ``generate`` run (with ``workers``: their start-up included)."""
    summary = generate(GenerateOptions(num_rows=n, out=out, seed=SEED, batch_size=batch_size,
                                       compression=compression, render=path, overwrite=True, workers=workers),
                       progress=False)
    return summary.examples_per_second, summary.bytes_per_example


def cli_run(n: int, batch_size: int, out: Path, options: list[str], cwd: Path = REPO) -> float:
    """Wall seconds of ``python -m dataset_gen --n n OPTIONS`` in a fresh process (default lzf), run from ``cwd``
    (this checkout, or a worktree of the baseline revision)."""
    command = [sys.executable, "-m", "dataset_gen", "--n", str(n), "--out", str(out), "--batch-size",
               str(batch_size), *options, "--overwrite", "--quiet"]
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start


def cli_sides(baseline: Path | None, rev: str | None) -> dict[str, tuple[list[str], Path]]:
    """The ``python -m dataset_gen`` commands compared: name -> (options, folder it runs from)."""
    threads = ["--threads", str(torch.get_num_threads())]
    sides = {"eager": (["--render", "eager", "--workers", "1", *threads], REPO),
             "fast": (["--render", "fast", "--workers", "1", *threads], REPO),
             "default": ([], REPO)}  # what a user types: fast, one render worker per CPU
    if baseline is not None:  # before --workers existed: one process
        sides |= {f"{path} at {rev}": (["--render", path, *threads], baseline) for path in PATHS}
    return sides


def peak_memory_kib(n: int, batch_size: int, out: Path, render: str) -> tuple[int, int, float]:
    """(peak RSS in KiB of the main process, of its largest render worker, seconds) of ``python -m dataset_gen --n
    n`` (its default workers) in a fresh process."""
    command = [sys.executable, "-c", _MEMORY_CHILD, render, "--n", str(n), "--out", str(out), "--batch-size",
               str(batch_size), "--compression", "none", "--overwrite", "--quiet"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    main_kib, worker_kib = result.stdout.strip().splitlines()[-1].split()
    return int(main_kib), int(worker_kib), time.perf_counter() - start


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
    parser.add_argument("--cli-n", type=int, nargs="+", default=[256],
                        help="rows per `python -m dataset_gen` run (each size measured in turn)")
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
        if WORKERS > 1:
            fast_render.build_one_cpu(log=print)  # what the workers load
        results["workers"] = WORKERS
        for path in PATHS:  # warm-up: first-call costs are not throughput
            render_only(args.batch_size, args.batch_size, path)
        variants = list(dict.fromkeys(VARIANTS))
        runs: dict[tuple[str, str], list[tuple[float, float, float]]] = {
            (c, variant_name(*v)): [] for c in COMPRESSIONS for v in variants}
        for _ in range(args.repeats):
            for compression in COMPRESSIONS:
                for path, workers in variants:
                    name = variant_name(path, workers)
                    render_rate = render_only(args.n, args.batch_size, path, workers)
                    rate, per_example = end_to_end(args.n, args.batch_size, compression,
                                                   tmp / f"{compression}_{path}.h5", path, workers)
                    runs[compression, name].append((render_rate, rate, per_example))
                    print(f"{compression}, {name}: render-only {render_rate:.1f}/s, end-to-end {rate:.1f}/s "
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
            tree = stack.enter_context(worktree(args.baseline, tmp / "baseline")) if args.baseline else None
            sides = cli_sides(tree, args.baseline)
            if tree is not None:  # builds the baseline's fast render where it differs
                cli_run(args.batch_size, args.batch_size, tmp / "warm.h5", sides[f"fast at {args.baseline}"][0], tree)
            results["cli_runs"] = []
            for n in args.cli_n:
                cli: dict[str, list[float]] = {name: [] for name in sides}
                for _ in range(args.repeats):
                    for name, (options, cwd) in sides.items():
                        cli[name].append(cli_run(n, args.batch_size, tmp / "cli.h5", options, cwd))
                        print(f"python -m dataset_gen --n {n} ({name}): {cli[name][-1]:.1f} s", flush=True)
                results["cli_runs"].append({
                    "n": n, "compression": "lzf", "seconds": cli, "baseline": args.baseline,
                    "options": {name: options for name, (options, _) in sides.items()},
                    "examples_per_s": {name: n / statistics.median(cli[name]) for name in cli}})
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
            kib, worker_kib, seconds = peak_memory_kib(n, args.batch_size, tmp / f"memory_{n}.h5", args.memory_render)
            results["memory"]["runs"].append({"n": n, "peak_rss_mib": kib / 1024, "worker_peak_rss_mib":
                                              worker_kib / 1024, "seconds": seconds})
            print(f"memory: N={n}: peak RSS {kib / 1024:.0f} MiB, largest worker {worker_kib / 1024:.0f} MiB "
                  f"({seconds:.0f} s)", flush=True)
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
    if r.get("workers", 1) > 1:
        lines.append(f"\n`fast, {r['workers']} workers`: rendered by {r['workers']} processes, each pinned to one CPU "
                     "with one torch thread (`dataset_gen.render_workers`), written by this one; render-only after "
                     "their start-up, end-to-end with it.")
    cli_runs = r.get("cli_runs") or ([r["cli"]] if "cli" in r else [])  # "cli": one size, before --workers
    for c in cli_runs:
        rates = c["examples_per_s"]
        lines += ["", f"## `python -m dataset_gen --n {c['n']}` in a fresh process ({c['compression']}, medians of "
                  f"{len(c['seconds']['eager'])} interleaved runs; start-up and loading included)", "",
                  "| command | seconds (each run) | examples/s |", "|---|---|---|"]
        for name, seconds in c["seconds"].items():
            options = c.get("options", {}).get(name)
            shown = name if options is None else f"{name}: `{' '.join(options) or '(no options)'}`"
            lines.append(f"| {shown} | {', '.join(f'{x:.1f}' for x in seconds)} | {rates[name]:.1f} |")
        newest = "default" if "default" in rates else "fast"
        ratio = rates[newest] / rates["eager"]
        lines += ["", f"{newest} / eager: {ratio:.2f}x. The fast render was "
                  f"{'built in this run' if r.get('fast_build_s', 0) > 5 else 'already built'} "
                  f"({r.get('fast_build_s', 0):.0f} s)."]
        if c.get("baseline"):
            rev = c["baseline"]
            today = rates[newest] / rates[f"eager at {rev}"]
            lines += ["", f"Against {rev} in the same run: this checkout's {newest} / its eager (the path before the "
                      f"fast render) {today:.2f}x (target >= 3: {'met' if today >= 3 else 'NOT met'}), fast / its "
                      f"fast {rates['fast'] / rates[f'fast at {rev}']:.2f}x, eager / its eager "
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
              f"Rendered with {what}.", "", "| N | peak RSS (MiB) | largest render worker (MiB) | seconds |",
              "|---|---|---|---|"]
    for run in mem["runs"]:
        worker = run.get("worker_peak_rss_mib")
        lines.append(f"| {run['n']:,} | {run['peak_rss_mib']:.0f} | {'-' if worker is None else f'{worker:.0f}'} | "
                     f"{run['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
