"""The before/after benchmark's pieces on a tiny real child process and hand-made readings (nothing here runs
`inverse predict`)."""

import sys

import pytest

from benchmarks.common import REPO
from benchmarks.predict_before_after import best, markdown, run


def test_a_child_is_timed_with_its_own_peak_memory_and_a_failure_is_named(tmp_path):
    seconds, peak_mib, stdout = run([sys.executable, "-c", "b = bytearray(200 * 2**20); print('ok')"], tmp_path)
    assert stdout == "ok\n" and seconds > 0
    assert 200 < peak_mib < 2000  # the child's 200 MiB buffer, not this test process's memory
    with pytest.raises(RuntimeError, match="exit status 3"):
        run([sys.executable, "-c", "raise SystemExit(3)"], REPO)


def test_the_report_gives_both_sides_against_import_torch_and_their_ratios():
    first = {"match": 0.5779, "mss": 0.3998, "distance_db": 2.38, "pitch_hz": 412.23}
    readings = {"import torch": {"median_wall_s": 3.0, "median_peak_mib": 600, "best": None},
                "predict at abc123": {"median_wall_s": 24.0, "median_peak_mib": 2600, "best": first},
                "predict at this checkout": {"median_wall_s": 21.0, "median_peak_mib": 1950, "best": first}}
    results = {"command": "python benchmarks/predict_before_after.py --baseline abc123", "commit": "def456",
               "baseline": "abc123", "target": "inverse/pretrained/example.png", "repeats": 3,
               "machine": {"cpu_model": "a CPU", "cpus": 2, "torch": "2.11.0"}, "load_before": [1.0, 1.0, 1.0],
               "load_after": [1.5, 1.2, 1.1], "readings": readings}
    text = markdown(results)
    assert "24.00 s (+21.00 s vs import torch)" in text and "21.00 s (+18.00 s vs import torch)" in text
    assert "wall time x0.88, peak memory x0.75" in text
    assert text.count("0.5779 / 0.3998 / 412.23 Hz") == 2
    assert best('{"candidates": [{"rank": 1, "match": 0.5, "mss": 0.4, "distance_db": 2.0, "pitch_hz": null}]}') == \
        {"match": 0.5, "mss": 0.4, "distance_db": 2.0, "pitch_hz": None}
