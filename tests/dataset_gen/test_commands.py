"""``python -m dataset_gen``: each command end to end, and one clear ``error:`` line for each bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from dataset_gen.cli import main
from dataset_gen.layout import partial_path
from dataset_gen.render_workers import usable_cpus
from dataset_gen.rendering import ExampleRenderer

REPO = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_generate_info_verify_export_and_merge(tmp_path, capsys):
    out = tmp_path / "d.h5"
    status, stdout, _ = run(capsys, "--n", 3, "--out", out, "--seed", 5, "--batch-size", 2, "--quiet",
                            "--compression", "none", "--sampler", "sobol")
    assert status == 0
    assert stdout.splitlines()[0] == f"wrote {out}: 3 rows"
    assert "bytes per example" in stdout and "examples/s" in stdout
    status, stdout, _ = run(capsys, "info", out, "--json")
    info = json.loads(stdout)
    assert status == 0 and info["attributes"]["sampler"] == "sobol" and info["datasets"]["spectrograms"][
        "compression"] == "none"
    status, stdout, _ = run(capsys, "verify", out)
    assert status == 0 and stdout.splitlines()[-1] == "OK"
    status, stdout, _ = run(capsys, "export-png", out, "--index", 2, "-o", tmp_path / "s.png")
    assert status == 0 and (tmp_path / "s.png").exists()
    parts = [tmp_path / f"p{i}.h5" for i in range(2)]
    for i, part in enumerate(parts):
        assert run(capsys, "generate", "--n", 3, "--out", part, "--seed", 5, "--sampler", "sobol",
                   "--shard", f"{i}/2", "--compression", "none", "--quiet")[0] == 0
    status, stdout, _ = run(capsys, "merge", *parts, "-o", tmp_path / "m.h5")
    assert status == 0 and stdout.startswith(f"wrote {tmp_path / 'm.h5'}: 3 rows from 2 shard(s)")
    with h5py.File(out, "r") as a, h5py.File(tmp_path / "m.h5", "r") as b:
        assert (a["spectrograms"][()] == b["spectrograms"][()]).all()


def test_verify_exits_1_on_altered_params(ds, reference, tmp_path, capsys):
    altered = ds.copy(reference, tmp_path / "altered.h5")
    with h5py.File(altered, "r+") as f:
        f["params"][1, 1] = 1.0 - f["params"][1, 1]
    status, stdout, _ = run(capsys, "verify", altered, "--sample", 0, "--json")
    report = json.loads(stdout)
    assert status == 1 and not report["ok"]


def _one_error_line(capsys, *argv) -> str:
    status, stdout, stderr = run(capsys, *argv)
    assert status == 2, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_bad_input_gives_one_error_line(ds, reference, tmp_path, capsys):
    out = tmp_path / "x.h5"
    assert "--n must be a positive number of rows, got 0" in _one_error_line(capsys, "--n", 0, "--out", out)
    assert "got -5" in _one_error_line(capsys, "--n", -5, "--out", out)
    assert "invalid int value: 'many'" in _one_error_line(capsys, "--n", "many", "--out", out)
    assert "the shard index must be in 0..3" in _one_error_line(capsys, "--n", 8, "--out", out, "--shard", "5/4")
    assert "already exists; pass --overwrite" in _one_error_line(capsys, "--n", 2, "--out", reference)
    assert "expected a number of worker processes or auto, got 'some'" in _one_error_line(
        capsys, "--n", 8, "--out", out, "--workers", "some")
    assert "one worker each at most" in _one_error_line(capsys, "--n", 8, "--out", out, "--workers", 999)
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert "cannot write" in _one_error_line(capsys, "--n", 2, "--out", blocker / "x.h5", "--quiet")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(reference.read_bytes()[:5000])
    for command in ("info", "verify"):
        assert "truncated.h5: not a readable HDF5 file" in _one_error_line(capsys, command, truncated)
    assert "no such file" in _one_error_line(capsys, "info", tmp_path / "missing.h5")
    assert "outside 0..7" in _one_error_line(capsys, "export-png", reference, "--index", ds.N, "-o", out)
    assert "the following arguments are required: -o/--out" in _one_error_line(capsys, "merge", reference)
    assert list(tmp_path.iterdir()) == [blocker, truncated]


def test_ctrl_c_keeps_the_finished_rows_for_a_resume(tmp_path, capsys, monkeypatch):
    render = ExampleRenderer.render
    calls = []

    def interrupted_render(self, start, count):
        calls.append(start)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return render(self, start, count)

    monkeypatch.setattr(ExampleRenderer, "render", interrupted_render)
    out = tmp_path / "i.h5"
    status, _, stderr = run(capsys, "--n", 3, "--out", out, "--batch-size", 1, "--quiet", "--workers", 1)
    assert status == 130
    assert stderr.strip() == (f"interrupted: 1 of 3 rows are saved in {partial_path(out)}; run the same command "
                              "again to resume")
    assert not out.exists()


@pytest.mark.skipif(len(usable_cpus()) < 2, reason="render workers need two CPUs this process may use")
def test_ctrl_c_with_render_workers_keeps_the_finished_rows_and_stops_the_workers(ds, tmp_path):
    out = tmp_path / "w.h5"
    # far more rows than are rendered before the interrupt: the run must not finish first (it did with 64)
    command = [sys.executable, "-m", "dataset_gen", "--n", "5000", "--out", str(out), "--batch-size", "1",
               "--workers", "2", "--render", "eager", "--quiet"]
    # its own process group, as a terminal's foreground job: Ctrl-C reaches the main process and its workers. SIGINT
    # as a terminal leaves it: a shell's background job (how CI may run the suite) ignores SIGINT, and its children
    # inherit that (Python then installs no KeyboardInterrupt handler).
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while ds.complete_rows(partial_path(out)) < 2:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    saved = ds.complete_rows(partial_path(out))
    assert 2 <= saved < 5000 and not out.exists()
    assert stderr.strip().endswith(f"interrupted: {saved} of 5000 rows are saved in {partial_path(out)}; run the "
                                   "same command again to resume")
    leftover = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()
    assert leftover == [], f"processes left in the group: {leftover}"


def test_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "dataset_gen", "--help"], cwd=REPO, capture_output=True,
                            text=True, check=True)
    for command in ("info FILE", "verify FILE", "merge SHARDS... -o FILE", "export-png FILE", "--shard"):
        assert command in result.stdout
