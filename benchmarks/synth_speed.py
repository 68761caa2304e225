"""Render speed of the synth against torchsynth's ``Voice``, written to benchmarks/results/.

    python benchmarks/synth_speed.py [--batch-size 128] [--repeats 7] [--threads 2] [--device cpu|cuda]
                                     [--allocator default|tuned|both] [--out benchmarks/results]

Measures, interleaved in one process so that the ratios stay fair on a shared, noisy machine (the order
rotates every repeat; medians after one warm-up call each):

1. torchsynth ``Voice`` at its defaults (44.1 kHz, 4 s buffer), random parameters (``voice(batch_idx)``,
   its own benchmark's call, which includes re-drawing the parameters);
2. our ``render`` on its eager path and on its fast path (``path="fast"``: the voice compiled ahead of time
   into this machine's cache, :mod:`synth.fast_render`; built first if needed, and the build time reported)
   on prior patches (``synth.prior.draw``), all 100 parameters and the effects chain;
3. ``synth.spectrogram.spectrogram`` on the rendered batch.

``--allocator tuned`` applies :func:`synth.allocator.tune_allocator` (what the command-line tools do at
start-up) before anything runs, so torchsynth and ours share the settings; ``--allocator both`` runs the
whole measurement twice in child processes (default settings, then tuned) and writes one report.

Throughput is audio samples per second and times real time (samples/s over that synth's sample rate).
Peak memory comes from a fresh child process per path that renders one batch (peak resident size, and
its rise above the peak after imports); the fast path's child also times its first call in a fresh process
(loading the compiled library included) and a whole first batch. Checks: batch invariance of each path (40
rows as 1x40, 40x1 and 2x20 calls) and fast vs eager (audio, ``distance_db``, multi-scale log-mel distance).

Results: ``synth_speed.json`` (every reading, machine, load average, command line) and ``synth_speed.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
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
from synth import fast_render, render  # noqa: E402
from synth.allocator import MMAP_THRESHOLD, TRIM_THRESHOLD, tune_allocator  # noqa: E402
from synth.perceptual import features, mss_distance  # noqa: E402
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
device, batch, threads, path, allocator = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
started = time.perf_counter()
if allocator == "tuned":
    from synth.allocator import tune_allocator
    tune_allocator()
torch.set_num_threads(threads)
if path == "torchsynth":
    from benchmarks.synth_speed import TorchsynthRunner
    runner = TorchsynthRunner(batch, device)
    render = lambda params, path: runner()
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
    if path == "fast":
        start = time.perf_counter()
        render(params[:CHUNK_ROWS], path="fast")  # loads the compiled library from the cache
        out["first_call_s"] = time.perf_counter() - start
        out["process_start_to_first_audio_s"] = time.perf_counter() - started
        peak = out["after_load_peak_rss_mib"] = status_mib("VmHWM")
        out["after_load_rss_mib"] = status_mib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:  # "5" resets VmHWM: the render's own peak comes next
            f.write("5")
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    audio = render(params, path="fast" if path == "fast" else "eager")
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


def invariance(params: torch.Tensor, path: str) -> dict:
    """Render ``params`` as one call, one row per call and two halves; bit-identical or not, and by how much."""
    with torch.no_grad():
        whole = render(params, path=path)
        rows = torch.cat([render(params[i:i + 1], path=path) for i in range(len(params))])
        half = len(params) // 2
        halves = torch.cat([render(params[:half], path=path), render(params[half:], path=path)])
    out = {"rows": len(params), "path": path}
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
        mss = mss_distance(features(a), features(b))
    return {"bit_identical": torch.equal(a, b), "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()), "median_row_max_abs_diff": float(row_max.median()),
            "rows_differing": int((row_max > 0).sum()), "rows_max_abs_diff_over_1e-3": int((row_max > 1e-3).sum()),
            "rows": len(a), "distance_db_mean": float(dist.mean()), "distance_db_max": float(dist.max()),
            "mss_mean": float(mss.mean()), "mss_max": float(mss.max())}


def throughput(seconds: float, batch_size: int, num_samples: int, sample_rate: int) -> dict:
    rate = batch_size * num_samples / seconds
    return {"samples_per_s": rate, "x_realtime": rate / sample_rate, "examples_per_s": batch_size / seconds}


def measure(args: argparse.Namespace) -> dict:
    """Run every measurement; returns the results dictionary written to JSON."""
    device, batch_size = args.device, args.batch_size
    sr, num_samples = DEFAULT_CONFIG.sample_rate, DEFAULT_CONFIG.num_samples
    params = draw(SEED, 0, batch_size).float().to(device)
    torchsynth = TorchsynthRunner(batch_size, device)

    def ours(path: str) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            with torch.no_grad():
                return render(params, path=path)
        return run

    runners = {"torchsynth": torchsynth, "eager": ours("eager")}
    results: dict = {"fast_build": None}
    if device == "cpu":
        state = fast_render.state()
        start = time.perf_counter()
        fast_render.build(log=print)
        results["fast_build"] = {"state_before": state, "seconds": time.perf_counter() - start,
                                 "entry": str(fast_render.entry_dir())}
        runners["fast"] = ours("fast")
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

    checks: dict = {}
    with torch.no_grad():
        eager_batch = runners["eager"]()
        checks["eager_output"] = {"finite": bool(torch.isfinite(eager_batch).all()),
                                  "max_abs": float(eager_batch.abs().max())}
        if "fast" in runners:
            fast_batch = runners["fast"]()
            checks["fast_repeat_identical"] = torch.equal(fast_batch, runners["fast"]())
            checks["fast_vs_eager_batch"] = compare(fast_batch, eager_batch)
    few = draw(SEED + 1, 0, INVARIANCE_ROWS).float().to(device)
    eager_inv = invariance(few, "eager")
    checks["eager_invariance"] = eager_inv
    if "fast" in runners:
        fast_inv = invariance(few, "fast")
        checks["fast_invariance"] = fast_inv
        checks["fast_vs_eager_invariance_rows"] = compare(fast_inv.pop("audio"), eager_inv["audio"])
    eager_inv.pop("audio")
    results["checks"] = checks
    for name, result in checks.items():
        print(f"{name}: {result}", flush=True)

    results["memory"] = {}
    for path in ["torchsynth", "eager"] + (["fast"] if "fast" in runners else []):
        results["memory"][path] = run_child(_MEMORY_CHILD, device, str(batch_size), str(args.threads), path,
                                            args.allocator)
        m = results["memory"][path]
        m["delta_peak_rss_mib"] = m["peak_rss_mib"] - m["baseline_peak_rss_mib"]
        if path == "fast":
            m["render_delta_rss_mib"] = m["render_peak_rss_mib"] - m["after_load_rss_mib"]
            m["fresh_process_first_batch_s"] = m["first_call_s"] + m["render_s"]
        print(f"memory ({path}): peak RSS {m['peak_rss_mib']:.0f} MiB, "
              f"{m['delta_peak_rss_mib']:.0f} MiB above the baseline after imports", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per path (median reported)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (the fast path's compiled "
                        "loops run on the CPUs the process may use, fixed when the library was built)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--allocator", choices=("default", "tuned", "both"), default="both",
                        help="glibc allocator settings for both synths (default both: two runs, one report)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for synth_speed.json and .md")
    args = parser.parse_args(argv)
    if args.batch_size < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("--batch-size, --repeats and --threads must be positive")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: CUDA is not available on this machine (torch.cuda.is_available() is False)")
    missing = [name for name in ("torchsynth", "pytorch-lightning") if importlib.util.find_spec(
        name.replace("-", "_")) is None]
    if missing:
        parser.error(f"{' and '.join(missing)} not installed: the baseline comes with the bench extra "
                     "(`make bench`, or `pip install --require-hashes -r requirements-bench.lock`)")
    started = time.time()
    results = {
        "command": command_line(), "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": machine_info(), "device": args.device, "threads": args.threads,
        "batch_size": args.batch_size, "repeats": args.repeats,
        "versions": {name: version(name) for name in ("torchsynth", "pytorch-lightning")},
        "load_average_at_start": load_average(),
    }
    if args.allocator == "both":  # each setting in its own process: mallopt cannot be undone in one
        settings = {}
        for allocator in ("default", "tuned"):
            with tempfile.TemporaryDirectory() as scratch:
                subprocess.run([sys.executable, __file__, "--batch-size", str(args.batch_size), "--repeats",
                                str(args.repeats), "--threads", str(args.threads), "--device", args.device,
                                "--allocator", allocator, "--out", scratch], check=True)
                settings[allocator] = json.loads((Path(scratch) / f"{NAME}.json").read_text())["runs"][allocator]
    else:
        if args.allocator == "tuned":
            tune_allocator()
        torch.set_num_threads(args.threads)
        settings = {args.allocator: measure(args)}
    results["runs"] = settings
    results["load_average_at_end"] = load_average()
    results["seconds"] = time.time() - started
    json_path, md_path = write_results(args.out, NAME, results, markdown(results))
    print(f"wrote {json_path} and {md_path}")


LABELS = {"torchsynth": "torchsynth `Voice` (44.1 kHz, 4 s, random params)",
          "eager": "ours, `render` eager (16 kHz, 4.088 s)",
          "fast": "ours, `render(path=\"fast\")` (compiled ahead of time)",
          "spectrogram": "`spectrogram(audio)` (512x512)"}


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Synth render speed",
        "",
        f"`{r['command']}` on {r['date']}: {m['cpu_model']}, {m['cpus']} CPUs, {r['threads']} torch threads, "
        f"device {r['device']}{' (' + m['gpu'] + ')' if 'gpu' in m else ''}, torch {m['torch']}, torchsynth "
        f"{r['versions']['torchsynth']}. Batch {r['batch_size']}, median of {r['repeats']} interleaved repeats "
        f"after a warm-up. Total {r['seconds']:.0f} s. 1-minute load average {r['load_average_at_start'][0]:.1f} "
        f"at the start, {r['load_average_at_end'][0]:.1f} at the end (other jobs share this machine: absolute "
        "numbers move with it; interleaving keeps the ratios fairer, not immune). torchsynth's time includes "
        "drawing its random parameters; ours excludes `prior.draw`. Allocator `tuned`: "
        "`synth.allocator.tune_allocator()` in the measuring process before anything runs (glibc `mallopt`: mmap "
        f"threshold {MMAP_THRESHOLD >> 20} MiB, trim threshold {TRIM_THRESHOLD >> 20} MiB; what the command-line "
        "tools do at start-up), for both synths.",
        "",
        "| allocator | path | s / batch (median) | min | samples/s | x real time | ratio to torchsynth | "
        "ratio to our eager |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for allocator, run in r["runs"].items():
        s = run["speed"]
        for name, stats in s.items():
            ratio = f"{stats['ratio_to_torchsynth']:.2f}" if "ratio_to_torchsynth" in stats else "-"
            eager = f"{s['eager']['median_s'] / stats['median_s']:.2f}" if name in ("eager", "fast") else "-"
            lines.append(f"| {allocator} | {LABELS[name]} | {stats['median_s']:.3f} | {stats['min_s']:.3f} | "
                         f"{stats['samples_per_s'] / 1e6:.2f} M | {stats['x_realtime']:.0f}x | {ratio} | {eager} |")
    lines.append("")
    for allocator, run in r["runs"].items():
        s, build = run["speed"], run["fast_build"]
        best = s.get("fast", s["eager"])
        if "fast" in s:
            lines.append(f"- {allocator} allocator: fast path {best['ratio_to_torchsynth']:.2f}x torchsynth's "
                         f"samples/s (target >= 1.0: {'met' if best['ratio_to_torchsynth'] >= 1 else 'NOT met'}), "
                         f"{s['eager']['median_s'] / best['median_s']:.2f}x our eager path (target >= 3).")
        else:  # the GPU: the fast path is the CPU's; real time is the fair unit at two sample rates
            ts = s["torchsynth"]
            lines.append(f"- {allocator} allocator, {r['device']}: eager path {best['x_realtime']:.0f}x real time, "
                         f"torchsynth {ts['x_realtime']:.0f}x ({best['x_realtime'] / ts['x_realtime']:.2f}x its real-"
                         f"time rate; {best['ratio_to_torchsynth']:.2f}x its samples/s, which run at 44.1 kHz "
                         f"against our 16 kHz).")
        busiest = max(run["load_average_per_repeat"])
        if busiest > m["cpus"] + 0.5:
            lines.append(f"  **Warning:** the 1-minute load average reached {busiest:.1f} on {m['cpus']} CPUs "
                         "during these repeats; re-run on a quiet machine before trusting them.")
        if build:
            how = ("built in this run" if build["state_before"] != "ready" else "already built (cache)")
            lines.append(f"  Fast render {how}: {build['seconds']:.1f} s.")
        fast_mem = run["memory"].get("fast")
        if fast_mem:
            lines.append(f"  Fresh process: first {CHUNK_ROWS} rows in {fast_mem['first_call_s']:.2f} s (loading "
                         f"the library included; {fast_mem['process_start_to_first_audio_s']:.2f} s from process "
                         f"start after imports), first batch of {r['batch_size']} in "
                         f"{fast_mem['fresh_process_first_batch_s']:.2f} s.")
    if r["device"] == "cuda":
        lines.append(f"\ntorchsynth claims {TORCHSYNTH_GPU_CLAIM_X_REALTIME:,}x real time on one GPU.")
    lines += ["", "## Peak memory (fresh process, one batch)", "",
              "| allocator | path | peak RSS | above baseline after imports | render alone (after loading) |",
              "|---|---|---:|---:|---:|"]
    for allocator, run in r["runs"].items():
        for path, mem in run["memory"].items():
            alone = f"{mem['render_delta_rss_mib']:.0f} MiB" if "render_delta_rss_mib" in mem else "-"
            lines.append(f"| {allocator} | {path} | {mem['peak_rss_mib']:.0f} MiB | {mem['delta_peak_rss_mib']:.0f} "
                         f"MiB | {alone} |")
    lines += ["", "Target: under 1.5 GB (1431 MiB) for a batch of 128.", "", "## Checks", "",
              "| allocator | check | bit-identical | max abs diff | rows differing | distance_db mean / max | "
              "MSS mean / max |",
              "|---|---|---|---:|---:|---:|---:|"]
    for allocator, run in r["runs"].items():
        c = run["checks"]
        rows = []
        for path in ("eager", "fast"):
            inv = c.get(f"{path}_invariance")
            if inv:
                n = inv["rows"]
                rows += [(f"{path}: {n} rows, 1x{n} vs {n}x1", inv["one_row_per_call"]),
                         (f"{path}: {n} rows, 1x{n} vs 2x{n // 2}", inv["two_halves"])]
        if "fast_vs_eager_batch" in c:
            rows += [(f"fast vs eager, batch {r['batch_size']}", c["fast_vs_eager_batch"]),
                     (f"fast vs eager, {INVARIANCE_ROWS} rows", c["fast_vs_eager_invariance_rows"])]
        for label, check in rows:
            dist = mss = "-"
            if "distance_db_mean" in check:
                dist = f"{check['distance_db_mean']:.4f} / {check['distance_db_max']:.4f} dB"
                mss = f"{check['mss_mean']:.4f} / {check['mss_max']:.4f}"
            lines.append(f"| {allocator} | {label} | {'yes' if check['bit_identical'] else 'NO'} | "
                         f"{check['max_abs_diff']:.3g} | {check['rows_differing']} of {check['rows']} | {dist} | "
                         f"{mss} |")
        if "fast_repeat_identical" in c:
            lines.append(f"| {allocator} | fast, same batch twice | "
                         f"{'yes' if c['fast_repeat_identical'] else 'NO'} | - | - | - | - |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
