"""Render speed of the synth against torchsynth's ``Voice``, written to benchmarks/results/.

    python benchmarks/synth_speed.py [--batch-size 128] [--repeats 7] [--threads 2] [--device cpu|cuda]
                                     [--skip-compiled] [--cold-compile] [--out benchmarks/results]

Measures, interleaved in one process so that the ratios stay fair on a shared, noisy machine (the order
rotates every repeat; medians after one warm-up call each):

1. torchsynth ``Voice`` at its defaults (44.1 kHz, 4 s buffer), random parameters (``voice(batch_idx)``,
   its own benchmark's call, which includes re-drawing the parameters);
2. our ``render`` (eager) and ``render(compiled=True)`` on prior patches (``synth.prior.draw``), all 100
   parameters and the effects chain; the compiled path's first call (compilation, or loading inductor's
   on-disk cache) is reported separately;
3. ``synth.spectrogram.spectrogram`` on the rendered batch.

Throughput is audio samples per second and times real time (samples/s over that synth's sample rate).
Peak memory comes from a fresh child process per path that renders one batch (peak resident size, and
its rise above the peak after imports; the compiled child also reports the render's own peak after
compilation). Checks on
the compiled path: batch invariance (40 rows as 1x40, 40x1 and 2x20 calls) and compiled vs eager.

Results: ``synth_speed.json`` (every reading, machine, load average, command line) and ``synth_speed.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    RESULTS,
    command_line,
    load_average,
    machine_info,
    run_child,
    summary,
    timed,
    write_results,
)
from synth import render  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.spectrogram import DEFAULT_CONFIG, Spectrogram, distance_db, spectrogram  # noqa: E402
from synth.voice import CHUNK_ROWS  # noqa: E402

NAME = "synth_speed"
SEED = 0
INVARIANCE_ROWS = 40
TORCHSYNTH_GPU_CLAIM_X_REALTIME = 16200  # torchsynth's published figure for one GPU
SPECTROGRAM = Spectrogram(DEFAULT_CONFIG)

# Fresh child process for peak memory: renders one batch and prints one JSON line (MiB). Peaks are read from
# VmHWM, not ru_maxrss: Linux carries the parent's resident size at fork/exec into the child's ru_maxrss.
_MEMORY_CHILD = r"""
import json, resource, sys, time
import torch
device, batch, threads, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
compiled = path == "compiled"
torch.set_num_threads(threads)
if path == "torchsynth":
    from benchmarks.synth_speed import TorchsynthRunner
    runner = TorchsynthRunner(batch, device)
    render = lambda params, compiled: runner()
else:
    from synth import render
from synth.prior import draw
from synth.voice import CHUNK_ROWS

def status_mib(field):  # VmRSS: resident now; VmHWM: peak since exec or the last reset (Linux)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

params = draw(0, 0, batch).float().to(device)
out = {"baseline_peak_rss_mib": status_mib("VmHWM"), "baseline_rss_mib": status_mib("VmRSS")}
peak = 0.0
with torch.no_grad():
    if compiled:
        start = time.perf_counter()
        render(params[:CHUNK_ROWS], compiled=True)  # compiles, or loads inductor's on-disk cache
        out["first_call_s"] = time.perf_counter() - start
        peak = out["after_compile_peak_rss_mib"] = status_mib("VmHWM")
        out["after_compile_rss_mib"] = status_mib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:  # "5" resets VmHWM: the render's own peak comes next
            f.write("5")
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    audio = render(params, compiled=compiled)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        out["cuda_peak_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
    out["render_s"] = time.perf_counter() - start
out["render_peak_rss_mib"] = status_mib("VmHWM")
out["peak_rss_mib"] = max(peak, out["render_peak_rss_mib"])
out["ru_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # inflated, see above
out["output_shape"] = list(audio.shape)
print(json.dumps(out))
"""


def import_torchsynth():
    """torchsynth 1.0.2 imports ``pytorch_lightning.core.lightning``, which Lightning 2 renamed."""
    import pytorch_lightning.core.module as lightning_module
    sys.modules.setdefault("pytorch_lightning.core.lightning", lightning_module)
    from torchsynth.config import SynthConfig
    from torchsynth.synth import Voice
    return SynthConfig, Voice


class TorchsynthRunner:
    """torchsynth's ``Voice``: each call renders a new batch of random parameters (``voice(batch_idx)``)."""

    def __init__(self, batch_size: int, device: str):
        synth_config, voice = import_torchsynth()
        # Reproducible mode (torchsynth's default) needs a batch size that is a multiple of 32.
        config = synth_config(batch_size=batch_size, reproducible=batch_size % 32 == 0)
        self.voice = voice(config).to(device)
        self.sample_rate = int(config.sample_rate)
        self.num_samples = int(config.buffer_size)
        self.batch_idx = 0

    def __call__(self) -> torch.Tensor:
        self.batch_idx += 1
        return self.voice(self.batch_idx)[0]


def invariance(params: torch.Tensor, compiled: bool) -> dict:
    """Render ``params`` as one call, one row per call and two halves; bit-identical or not, and by how much."""
    with torch.no_grad():
        whole = render(params, compiled=compiled)
        rows = torch.cat([render(params[i:i + 1], compiled=compiled) for i in range(len(params))])
        half = len(params) // 2
        halves = torch.cat([render(params[:half], compiled=compiled), render(params[half:], compiled=compiled)])
    out = {"rows": len(params), "path": "compiled" if compiled else "eager"}
    for name, other in (("one_row_per_call", rows), ("two_halves", halves)):
        diff = (whole - other).abs()
        out[name] = {"bit_identical": torch.equal(whole, other), "max_abs_diff": float(diff.max()),
                     "rows_differing": int((diff.amax(dim=1) > 0).sum()), "rows": len(params)}
    out["audio"] = whole
    return out


def compare(a: torch.Tensor, b: torch.Tensor) -> dict:
    """Bit-identity, max and mean absolute difference, rows that differ at all, and the spectral distance
    (``distance_db``, the project's match metric) between the two renders of each row."""
    diff = (a - b).abs()
    row_max = diff.amax(dim=1)
    with torch.no_grad():
        dist = distance_db(SPECTROGRAM.to(a.device).db(a), SPECTROGRAM.to(a.device).db(b))
    return {"bit_identical": torch.equal(a, b), "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()), "median_row_max_abs_diff": float(row_max.median()),
            "rows_differing": int((row_max > 0).sum()), "rows_max_abs_diff_over_1e-3": int((row_max > 1e-3).sum()),
            "rows": len(a), "distance_db_mean": float(dist.mean()), "distance_db_max": float(dist.max())}


def inductor_cache_files() -> tuple[str, int]:
    """Inductor's on-disk cache directory and how many files it holds (a warm cache makes compiling fast)."""
    from torch._inductor.runtime.runtime_utils import cache_dir
    path = cache_dir()
    return path, sum(len(files) for _, _, files in os.walk(path))


def throughput(seconds: float, batch_size: int, num_samples: int, sample_rate: int) -> dict:
    rate = batch_size * num_samples / seconds
    return {"samples_per_s": rate, "x_realtime": rate / sample_rate, "examples_per_s": batch_size / seconds}


def measure(args: argparse.Namespace) -> dict:
    """Run every measurement; returns the results dictionary written to JSON."""
    device, batch_size = args.device, args.batch_size
    sr, num_samples = DEFAULT_CONFIG.sample_rate, DEFAULT_CONFIG.num_samples
    params = draw(SEED, 0, batch_size).float().to(device)
    torchsynth = TorchsynthRunner(batch_size, device)

    def ours(compiled: bool) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            with torch.no_grad():
                return render(params, compiled=compiled)
        return run

    runners = {"torchsynth": torchsynth, "eager": ours(False)}
    results: dict = {"compile": None}
    if not args.skip_compiled:
        cache, files_before = inductor_cache_files()
        timed(runners["eager"], device)  # eager warm-up first, so that only the compilation is extra
        compiled_run = ours(True)
        first = timed(compiled_run, device)
        results["compile"] = {"first_call_s": first, "inductor_cache_dir": cache,
                              "cache_files_before": files_before, "cache_files_after": inductor_cache_files()[1]}
        print(f"compiled: first call {first:.1f} s (batch {batch_size}, compilation or cache load included)",
              flush=True)
        runners["compiled"] = compiled_run
    audio = runners["eager"]()
    runners["spectrogram"] = lambda: spectrogram(audio)

    for fn in runners.values():  # warm-up: first-call costs are not throughput
        timed(fn, device)
    readings: dict[str, list[float]] = {name: [] for name in runners}
    loads = []
    names = list(runners)
    for repeat in range(args.repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        for name in order:
            readings[name].append(timed(runners[name], device))
        loads.append(load_average()[0])
        print(f"repeat {repeat + 1}/{args.repeats}: "
              + ", ".join(f"{n} {readings[n][-1]:.2f} s" for n in names), flush=True)

    base = None
    speed = {}
    for name in names:
        stats = summary(readings[name])
        if name == "torchsynth":
            stats.update(throughput(stats["median_s"], batch_size, torchsynth.num_samples, torchsynth.sample_rate))
            stats.update(sample_rate=torchsynth.sample_rate, num_samples=torchsynth.num_samples)
            base = stats["samples_per_s"]
            stats["ratio_to_torchsynth"] = 1.0
        else:
            stats.update(throughput(stats["median_s"], batch_size, num_samples, sr))
            stats.update(sample_rate=sr, num_samples=num_samples)
            if name != "spectrogram":  # analysis, not synthesis: no ratio
                stats["ratio_to_torchsynth"] = stats["samples_per_s"] / base
        speed[name] = stats
    results["speed"] = speed
    # torchsynth's timing includes drawing its random parameters; ours excludes the prior, timed here.
    results["prior_draw_s"] = summary([timed(lambda: draw(SEED, 0, batch_size)) for _ in range(3)])["median_s"]
    results["load_average_per_repeat"] = loads
    if results["compile"] is not None:
        results["compile"]["compile_s_estimate"] = results["compile"]["first_call_s"] - speed["compiled"]["median_s"]

    checks: dict = {}
    with torch.no_grad():
        eager_batch = runners["eager"]()
        checks["eager_output"] = {"finite": bool(torch.isfinite(eager_batch).all()),
                                  "max_abs": float(eager_batch.abs().max())}
        if "compiled" in runners:
            compiled_batch = runners["compiled"]()
            checks["compiled_repeat_identical"] = torch.equal(compiled_batch, runners["compiled"]())
            checks["compiled_vs_eager_batch"] = compare(compiled_batch, eager_batch)
    few = draw(SEED + 1, 0, INVARIANCE_ROWS).float().to(device)
    eager_inv = invariance(few, compiled=False)
    checks["eager_invariance"] = eager_inv
    if "compiled" in runners:
        compiled_inv = invariance(few, compiled=True)
        checks["compiled_invariance"] = compiled_inv
        checks["compiled_vs_eager_invariance_rows"] = compare(compiled_inv.pop("audio"), eager_inv["audio"])
    eager_inv.pop("audio")
    results["checks"] = checks
    for name, result in checks.items():
        print(f"{name}: {result}", flush=True)

    results["memory"] = {}
    for path in ["torchsynth", "eager"] + ([] if args.skip_compiled else ["compiled"]):
        results["memory"][path] = run_child(_MEMORY_CHILD, device, str(batch_size), str(args.threads), path)
        m = results["memory"][path]
        m["delta_peak_rss_mib"] = m["peak_rss_mib"] - m["baseline_peak_rss_mib"]
        if path == "compiled":
            m["render_delta_rss_mib"] = m["render_peak_rss_mib"] - m["after_compile_rss_mib"]
        print(f"memory ({path}): peak RSS {m['peak_rss_mib']:.0f} MiB, "
              f"{m['delta_peak_rss_mib']:.0f} MiB above the baseline after imports", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per path (median reported)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--skip-compiled", action="store_true", help="skip torch.compile (minutes when cold)")
    parser.add_argument("--cold-compile", action="store_true",
                        help="compile into a fresh inductor cache, to time a first-ever compilation")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for synth_speed.json and .md")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("--batch-size, --repeats and --threads must be positive")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available on this machine (torch.cuda.is_available() is False)")
    torch.set_num_threads(args.threads)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="synth_speed_inductor_") as cold_cache:
        if args.cold_compile:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = cold_cache  # the memory children inherit (and reuse) it
        results = {
            "command": command_line(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "machine": machine_info(), "device": args.device, "threads": args.threads,
            "batch_size": args.batch_size, "repeats": args.repeats, "cold_compile": args.cold_compile,
            "versions": {name: version(name) for name in ("torchsynth", "pytorch-lightning")},
            "load_average_at_start": load_average(),
        }
        results.update(measure(args))
    results["load_average_at_end"] = load_average()
    results["seconds"] = time.time() - started
    json_path, md_path = write_results(args.out, NAME, results, markdown(results))
    print(f"wrote {json_path} and {md_path}")


def markdown(r: dict) -> str:
    m, s = r["machine"], r["speed"]
    target = s.get("compiled", s["eager"])
    lines = [
        "# Synth render speed",
        "",
        f"`{r['command']}` on {r['date']}: {m['cpu_model']}, {m['cpus']} CPUs, {r['threads']} torch threads, "
        f"device {r['device']}{' (' + m['gpu'] + ')' if 'gpu' in m else ''}, torch {m['torch']}, torchsynth "
        f"{r['versions']['torchsynth']}. Batch {r['batch_size']}, median of {r['repeats']} interleaved repeats "
        f"after a warm-up. Total {r['seconds']:.0f} s. 1-minute load average {r['load_average_at_start'][0]:.1f} "
        f"at the start, {r['load_average_at_end'][0]:.1f} at the end (other jobs share this machine: absolute "
        "numbers move with it; interleaving keeps the ratios fairer, not immune).",
        "",
        "| path | s / batch (median) | min | samples/s | x real time | ratio to torchsynth |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    labels = {"torchsynth": "torchsynth `Voice` (44.1 kHz, 4 s, random params)",
              "eager": "ours, `render` eager (16 kHz, 4.088 s)",
              "compiled": "ours, `render(compiled=True)`",
              "spectrogram": "`spectrogram(audio)` (512x512)"}
    for name, stats in s.items():
        ratio = f"{stats['ratio_to_torchsynth']:.2f}" if "ratio_to_torchsynth" in stats else "-"
        lines.append(f"| {labels[name]} | {stats['median_s']:.3f} | {stats['min_s']:.3f} | "
                     f"{stats['samples_per_s'] / 1e6:.2f} M | {stats['x_realtime']:.0f}x | {ratio} |")
    lines += ["", f"Spectrogram: {s['spectrogram']['examples_per_s']:.0f} examples/s. torchsynth's time includes "
              f"drawing its random parameters; ours excludes `prior.draw` ({r['prior_draw_s']:.3f} s per batch). "
              f"Target (>= 1.0x torchsynth's samples/s on the CPU): best path "
              f"{target['ratio_to_torchsynth']:.2f}x -> {'met' if target['ratio_to_torchsynth'] >= 1 else 'NOT met'}."]
    busiest = max(r["load_average_per_repeat"])
    if busiest > m["cpus"] + 0.5:
        lines += ["", f"**Warning:** the 1-minute load average reached {busiest:.1f} on {m['cpus']} CPUs during the "
                  "repeats: other processes competed for the cores, and the eager path (thousands of small "
                  "multi-threaded ops) slows down far more than the others under contention. Re-run on a quiet "
                  "machine before trusting these numbers."]
    if r["device"] == "cuda":
        lines.append(f"torchsynth claims {TORCHSYNTH_GPU_CLAIM_X_REALTIME:,}x real time on one GPU.")
    if r["compile"]:
        c = r["compile"]
        lines += ["", f"Compiled path: first call {c['first_call_s']:.1f} s (about {c['compile_s_estimate']:.1f} s "
                  f"of compilation or cache loading; inductor cache {c['cache_files_before']} files before, "
                  f"{c['cache_files_after']} after{', fresh cache' if r['cold_compile'] else ''}). "
                  f"First call in a fresh process afterwards (cache warm, {CHUNK_ROWS} rows): "
                  f"{r['memory']['compiled']['first_call_s']:.1f} s."]
    lines += ["", "## Peak memory (fresh process, one batch)", "",
              "| path | peak RSS | above baseline after imports | render alone (after compile) |",
              "|---|---:|---:|---:|"]
    for path, mem in r["memory"].items():
        alone = f"{mem['render_delta_rss_mib']:.0f} MiB" if "render_delta_rss_mib" in mem else "-"
        lines.append(f"| {path} | {mem['peak_rss_mib']:.0f} MiB | {mem['delta_peak_rss_mib']:.0f} MiB | {alone} |")
    lines += ["", "Target: under 1.5 GB (1431 MiB) for a batch of 128.", "", "## Checks", "",
              "| check | bit-identical | max abs diff | rows differing | distance_db mean / max |",
              "|---|---|---:|---:|---:|"]
    c = r["checks"]
    rows = []
    for path in ("eager", "compiled"):
        inv = c.get(f"{path}_invariance")
        if inv:
            n = inv["rows"]
            rows += [(f"{path}: {n} rows, 1x{n} vs {n}x1", inv["one_row_per_call"]),
                     (f"{path}: {n} rows, 1x{n} vs 2x{n // 2}", inv["two_halves"])]
    if "compiled_vs_eager_batch" in c:
        rows += [(f"compiled vs eager, batch {r['batch_size']}", c["compiled_vs_eager_batch"]),
                 (f"compiled vs eager, {INVARIANCE_ROWS} rows", c["compiled_vs_eager_invariance_rows"])]
    for label, check in rows:
        dist = "-"
        if "distance_db_mean" in check:
            dist = f"{check['distance_db_mean']:.4f} / {check['distance_db_max']:.4f} dB"
        lines.append(f"| {label} | {'yes' if check['bit_identical'] else 'NO'} | {check['max_abs_diff']:.3g} | "
                     f"{check['rows_differing']} of {check['rows']} | {dist} |")
    if "compiled_repeat_identical" in c:
        same = "bit-identical" if c["compiled_repeat_identical"] else "DIFFERS"
        lines += ["", f"Compiled path, same batch twice: {same}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
