"""The speed benchmark's per-CPU table: every offline tool on one CPU and on two, with its algorithmic latency."""

import os

import pytest
import torch

from benchmarks import specmask_speed as speed


def _rtf(value: float) -> dict:
    return {"median": value, "all": [value]}


def test_table_lists_each_tool_per_cpu_count_with_its_latency():
    rtf = {name + suffix: _rtf(value) for name, _, _ in speed.TOOLS
           for suffix, value in (("", 0.02), ("_1cpu", 0.03))}
    rtf["streaming_b4096_l1024"] = _rtf(0.2)
    results = {"rtf": rtf, "anchor_latency_ms": {"rnnoise": 30.0, "deepfilternet3": 40.0},
               "streaming": {"streaming_b4096_l1024": {"rate": 16000, "block": 4096, "lookahead": 1024,
                                                       "latency_ms": 320.0}}}
    lines = speed.by_tool(results, [2, 1])
    assert "| tool | 1 CPU | 2 CPUs | algorithmic latency |" in lines
    assert "| DeepFilterNet3 (libdeepfilter), 48 kHz | 0.0300 | 0.0200 | 40 ms (10 ms frame + measured output lag) |" \
        in lines
    assert "| specmask, 16 kHz | 0.0300 | 0.0200 | offline (4.088 s windows of the whole file) |" in lines
    assert "| specmask streaming, 16 kHz, block 4096 + lookahead 1024 | 0.2000 | - | 320 ms (block + lookahead) |" \
        in lines
    # a tool that did not run (a missing wheel) has no row
    del rtf["rnnoise_1cpu"]
    assert not any(line.startswith("| RNNoise") for line in speed.by_tool(results, [2, 1]))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU pinning is Linux's")
def test_on_cpus_pins_this_thread_and_sets_torch_threads():
    cpus, threads = sorted(os.sched_getaffinity(0)), torch.get_num_threads()
    try:
        speed.on_cpus(cpus[:1])
        assert os.sched_getaffinity(0) == {cpus[0]} and torch.get_num_threads() == 1
    finally:
        os.sched_setaffinity(0, set(cpus))
        torch.set_num_threads(threads)
