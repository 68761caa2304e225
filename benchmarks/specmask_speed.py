"""Speed of mask enhancement on the CPU: offline and streaming real-time factors, against noisereduce.

    python benchmarks/specmask_speed.py [--model specmask/pretrained/default] [--seconds 60] [--repeats 3]
        [--out benchmarks/results]

Measured in one process, interleaved per repeat (medians reported), on ``--seconds`` of a synth note
sequence plus pink noise at 16 kHz mono:

- ``offline``: ``specmask.enhance.enhance_audio`` (overlap-add, windows every 2.044 s) with every CPU
  thread (2 here); the target is a real-time factor (compute / audio duration) of at most 0.05;
- ``streaming``: ``specmask.enhance.Streaming`` on ONE thread for a few (block, lookahead) settings, each
  block processed as it arrives; real-time factor (target below 1), algorithmic latency (block + lookahead)
  and the worst per-block compute time (which must stay below the block's duration for glitch-free audio);
- baselines in the same run: ``noisereduce.reduce_noise`` stationary and non-stationary (whole signal), and the
  real denoisers RNNoise and DeepFilterNet3 (:mod:`benchmarks.denoisers`, their C runtimes at their native 48 kHz, on
  the 48 kHz signal below; a skip line where a wheel is missing: ``make bench`` installs them);
- every offline tool (specmask offline at 16 and 48 kHz, noisereduce, RNNoise, DeepFilterNet3) on one CPU and on
  two: the process pinned to that many CPUs (``os.sched_setaffinity``, so a library's own threads are held to them
  too) with as many torch threads; the table gives each tool's algorithmic latency beside it (the delay until a
  sample of input can come out: specmask streaming block + lookahead; RNNoise and DeepFilterNet3 their 10 ms frame
  + their measured output lag; offline tools need the whole signal first);
- full band at 48 kHz (:mod:`specmask.fullband`: the mask applied at the input's rate): the same signal
  resampled to 48 kHz plus white noise above 8 kHz, offline on every thread (target again 0.05) and streaming
  on one thread with the first setting's block and lookahead scaled to 48 kHz (the same latency in ms).

Also the agreement between streaming and offline output (SI-SDR of one against the other, after removing
the streaming delay). Results: ``specmask_speed.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402
from benchmarks.denoisers import RATE as ANCHOR_RATE  # noqa: E402
from benchmarks.denoisers import available  # noqa: E402
from specmask import checkpoint  # noqa: E402
from specmask.enhance import (  # noqa: E402
    MaskControls,
    OverlapAdd,
    Streaming,
    WindowEnhancer,
    enhance_audio,
    model_mask_fn,
)
from specmask.fullband import FullBandEnhancer  # noqa: E402
from specmask.losses import si_sdr  # noqa: E402
from specmask.mixing import colored_noise, generator_for, mix_at_snr  # noqa: E402
from synth.prior import draw  # noqa: E402
from synth.voice import render  # noqa: E402

RATE = 16000
FULL_RATE = 48000
STREAM_SETTINGS = ((4096, 1024), (2048, 512), (8192, 2048))
FULL_STREAM = (3 * 4096, 3 * 1024)  # at 48 kHz: the first setting's 256 ms block and 64 ms lookahead


def test_signal(seconds: float) -> torch.Tensor:
    """Synth notes back to back plus pink noise at 5 dB SNR: ``Tensor[1, seconds * 16000]``."""
    n = int(seconds * RATE)
    notes = render(draw(seed=7, start=0, count=int(np.ceil(n / 65408)))).reshape(-1)[:n]
    return mix_at_snr(notes, colored_noise("pink", n, generator_for(7, 0)), 5.0)[None] * 0.5


def full_band_signal(audio: torch.Tensor) -> torch.Tensor:
    """``audio`` at 48 kHz with white noise above 8 kHz (what a 48 kHz recording has and 16 kHz lacks)."""
    import torchaudio.functional as AF

    up = AF.resample(audio, RATE, FULL_RATE)
    highs = AF.highpass_biquad(0.02 * torch.randn(up.shape, generator=torch.Generator().manual_seed(7)),
                               FULL_RATE, 8000.0)
    return up + highs


def full_band_offline(mask_fn, audio: torch.Tensor) -> torch.Tensor:
    engine = OverlapAdd(FullBandEnhancer(mask_fn, FULL_RATE, MaskControls.for_mode("denoise")), 1)
    return torch.cat([*(engine.push(piece) for piece in audio.split(FULL_RATE * 4, dim=1)), engine.flush()], dim=1)


def on_cpus(cpus: list[int]) -> None:
    """Run this thread (and the threads it starts from now on: a C library's pool) on ``cpus`` only, with as many
    torch threads."""
    os.sched_setaffinity(0, set(cpus))
    torch.set_num_threads(len(cpus))


def stream(mask_fn, audio: torch.Tensor, block: int, lookahead: int, rate: int = RATE
           ) -> tuple[torch.Tensor, float, float]:
    """Stream ``audio`` block by block; returns (output, total compute s, worst block s)."""
    controls = MaskControls.for_mode("denoise")
    enhancer = WindowEnhancer(mask_fn, controls) if rate == RATE else FullBandEnhancer(mask_fn, rate, controls)
    engine = Streaming(enhancer, 1, block, lookahead)
    out, worst, total = [], 0.0, 0.0
    for piece in audio.split(block, dim=1):
        started = time.perf_counter()
        out.append(engine.push(piece))
        elapsed = time.perf_counter() - started
        total, worst = total + elapsed, max(worst, elapsed)
    return torch.cat(out, dim=1), total, worst


#: Offline tools of the per-CPU table: (row name, what it runs on, its algorithmic latency or None for an anchor's).
TOOLS = (("offline", "specmask, 16 kHz", "offline (4.088 s windows of the whole file)"),
         ("offline_48k", "specmask full band, 48 kHz", "offline (4.088 s windows of the whole file)"),
         ("noisereduce_stationary", "noisereduce stationary, 16 kHz", "offline (the whole signal)"),
         ("noisereduce_nonstationary", "noisereduce non-stationary, 16 kHz", "offline (the whole signal)"),
         ("rnnoise", "RNNoise (librnnoise), 48 kHz", None),
         ("deepfilternet3", "DeepFilterNet3 (libdeepfilter), 48 kHz", None))


def by_tool(results: dict, counts: list[int]) -> list[str]:
    """Markdown: each offline tool's real-time factor on one CPU and on every CPU, and its algorithmic latency
    (specmask's streaming settings after it)."""
    rtf = results["rtf"]
    heads = [f"{count} CPU{'s' if count > 1 else ''}" for count in sorted(counts)]
    lines = ["Real-time factor by CPUs (the process pinned to them, as many torch threads) and algorithmic latency:",
             "", f"| tool | {' | '.join(heads)} | algorithmic latency |", "|---|" + "---:|" * len(counts) + "---|"]
    for name, label, latency in TOOLS:
        keys = [name if count == max(counts) else f"{name}_1cpu" for count in sorted(counts)]
        if not all(key in rtf for key in keys):
            continue
        if latency is None:
            latency = f"{results['anchor_latency_ms'][name]:.0f} ms (10 ms frame + measured output lag)"
        cells = " | ".join(f"{rtf[key]['median']:.4f}" for key in keys)
        lines.append(f"| {label} | {cells} | {latency} |")
    for name, value in results["streaming"].items():
        rate = "48 kHz" if value["rate"] == FULL_RATE else "16 kHz"
        cells = " | ".join(f"{rtf[name]['median']:.4f}" if count == 1 else "-" for count in sorted(counts))
        lines.append(f"| specmask streaming, {rate}, block {value['block']} + lookahead {value['lookahead']} | "
                     f"{cells} | {value['latency_ms']:.0f} ms (block + lookahead) |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(checkpoint.DEFAULT_MODEL))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import noisereduce

    generator, _ = checkpoint.load(args.model)
    mask_fn = model_mask_fn(generator)
    audio = test_signal(args.seconds)
    full = full_band_signal(audio)
    threads = torch.get_num_threads()
    readings: dict[str, list[float]] = {}
    worst: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        readings.setdefault(name, []).append(seconds / args.seconds)

    anchors, skipped = available()
    for line in skipped.values():
        print(line, file=sys.stderr)
    full_np = full[0].numpy()
    cpus = sorted(os.sched_getaffinity(0))
    counts = sorted({1, min(2, len(cpus))}, reverse=True)  # two CPUs first: torch's pool is made on both

    def offline_tools(suffix: str) -> None:
        """Every offline tool once, its real-time factor recorded as NAME + ``suffix``."""
        started = time.perf_counter()
        outputs["offline"] = enhance_audio(mask_fn, audio)
        record("offline" + suffix, time.perf_counter() - started)
        for stationary in (True, False):
            started = time.perf_counter()
            noisereduce.reduce_noise(y=audio[0].numpy(), sr=RATE, stationary=stationary)
            record(f"noisereduce_{'stationary' if stationary else 'nonstationary'}{suffix}",
                   time.perf_counter() - started)
        started = time.perf_counter()
        outputs["offline_48k"] = full_band_offline(mask_fn, full)
        record("offline_48k" + suffix, time.perf_counter() - started)
        for name, anchor in anchors.items():
            started = time.perf_counter()
            anchor(full_np, FULL_RATE)
            record(name + suffix, time.perf_counter() - started)

    enhance_audio(mask_fn, audio[:, : 4 * RATE])  # warm-up
    outputs = {}
    for _ in range(args.repeats):
        for count in counts:  # the rows without a suffix: every CPU, as before
            on_cpus(cpus[:count])
            offline_tools("" if count == counts[0] else "_1cpu")
        on_cpus(cpus)
        torch.set_num_threads(1)
        name = f"streaming_48k_b{FULL_STREAM[0]}_l{FULL_STREAM[1]}"
        out, total, slowest = stream(mask_fn, full, *FULL_STREAM, rate=FULL_RATE)
        outputs[name] = out
        record(name, total)
        worst.setdefault(name, []).append(slowest)
        for block, lookahead in STREAM_SETTINGS:
            name = f"streaming_b{block}_l{lookahead}"
            out, total, slowest = stream(mask_fn, audio, block, lookahead)
            outputs[name] = out
            record(name, total)
            worst.setdefault(name, []).append(slowest)
    torch.set_num_threads(threads)

    results = {"command": command_line(), "machine": machine_info(), "load_average": load_average(),
               "seconds_of_audio": args.seconds, "model": args.model, "threads_offline": threads, "rtf": {},
               "streaming": {}, "cpus": counts, "anchors_skipped": list(skipped.values()),
               "anchor_latency_ms": {name: 1000 * (anchor.frame + anchor.delay) / ANCHOR_RATE
                                     for name, anchor in anchors.items()}}
    for name, values in readings.items():
        results["rtf"][name] = {"median": statistics.median(values), "all": values}
    settings = [(f"streaming_b{b}_l{la}", b, la, RATE, "offline") for b, la in STREAM_SETTINGS]
    settings.append((f"streaming_48k_b{FULL_STREAM[0]}_l{FULL_STREAM[1]}", *FULL_STREAM, FULL_RATE, "offline_48k"))
    for name, block, lookahead, rate, reference in settings:
        aligned = outputs[name][:, lookahead:]
        n = aligned.shape[1]
        results["streaming"][name] = {
            "block": block, "lookahead": lookahead, "rate": rate, "latency_ms": 1000 * (block + lookahead) / rate,
            "block_ms": 1000 * block / rate, "worst_block_compute_ms": 1000 * max(worst[name]),
            "si_sdr_vs_offline_db": float(si_sdr(aligned, outputs[reference][:, :n]))}
    lines = ["# specmask speed (CPU)", "", f"`{results['command']}`", "",
             f"{args.seconds:.0f} s of 16 kHz audio (and of 48 kHz audio for the _48k rows: full band); median of "
             f"{args.repeats} repeats; load average "
             f"{results['load_average']}; {machine_info()['cpu_model']}.", "",
             "| method | threads | real-time factor | x real time |", "|---|---|---|---|"]
    for name, value in results["rtf"].items():
        used = 1 if name.startswith("streaming") or name.endswith("_1cpu") else threads
        lines.append(f"| {name} | {used} | {value['median']:.4f} | {1 / value['median']:.0f} |")
    lines += ["", *by_tool(results, counts)]
    lines += [f"- {line}" for line in skipped.values()]
    lines += ["", "| streaming setting | latency ms | block ms | worst block compute ms | SI-SDR vs offline dB |",
              "|---|---|---|---|---|"]
    for name, value in results["streaming"].items():
        lines.append(f"| {name} | {value['latency_ms']:.0f} | {value['block_ms']:.0f} | "
                     f"{value['worst_block_compute_ms']:.0f} | {value['si_sdr_vs_offline_db']:.1f} |")
    json_path, md_path = write_results(args.out, "specmask_speed", results, "\n".join(lines) + "\n")
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
