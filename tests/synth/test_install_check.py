"""The start-up self-check tells a broken installation (exit 3, one line naming the cause and the fix)
from bad input (exit 2)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from synth.install_check import BROKEN_INSTALL_STATUS, BrokenInstall, check_install

ROOT = Path(__file__).resolve().parents[2]
UNDEFINED = "Could not load this library: /x/libtorchaudio.so: undefined symbol: torch_exception_get_what"


def start_with_fake(folder: Path, package: str, body: str, *args: str) -> subprocess.Popen:
    """Start ``python -m ARGS`` in ``folder`` with a fake ``package`` first on the path (its __init__ is ``body``)."""
    (folder / package).mkdir(parents=True)
    (folder / package / "__init__.py").write_text(body)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    return subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=folder)


COMMANDS = [("inverse", "predict", "x.png"), ("specmask", "enhance", "x.wav", "-o", "y.wav"), ("synth", "params"),
            ("dataset_gen", "info", "x.h5")]


def test_a_torchaudio_that_does_not_load_is_a_broken_install(tmp_path):
    # every command-line entry point, started at once (each interpreter's start-up is most of the time)
    running = {command: start_with_fake(tmp_path / command[0], "torchaudio", f"raise OSError({UNDEFINED!r})",
                                        *command) for command in COMMANDS}
    for command, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == BROKEN_INSTALL_STATUS, (command, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, (command, stderr)
        assert lines[0].startswith("error: broken installation: cannot load torchaudio (OSError: Could not load")
        for part in ("undefined symbol", "make clean-venv", "not a problem with your input"):
            assert part in lines[0], command
        assert "Traceback" not in stderr and stdout == "", command


def test_version_mismatch_message(monkeypatch):
    import torch
    import torchaudio

    monkeypatch.setattr(torchaudio, "__version__", "2.11.1+cu130")
    with pytest.raises(BrokenInstall, match=r"torchaudio 2.11.1\+cu130 does not match torch 2.11.0"):
        check_install()
    monkeypatch.setattr(torchaudio, "__version__", torch.__version__)
    check_install()


def test_a_working_install_runs_the_command_and_bad_input_stays_exit_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dataset_gen", "info", str(tmp_path / "missing.h5")],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: ")
    assert "broken installation" not in result.stderr


def test_the_command_runs_with_the_collector_on_and_the_imports_frozen(tmp_path):
    # run_checked pauses the collector for the imports and freezes what they made (~0.5 s of every command's
    # wall time: benchmarks/cli_gc.py); the command itself must still collect its own cycles
    (tmp_path / "probe_cli.py").write_text(
        "import gc\n"
        "def main():\n"
        "    print(gc.isenabled(), gc.get_freeze_count() > 10000, 'torch' in __import__('sys').modules)\n"
        "    a = []; a.append(a); del a\n"
        "    print(gc.collect() >= 1)\n"
        "    return 5\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run([sys.executable, "-c", "from synth.install_check import run_checked; "
                             "raise SystemExit(run_checked('probe_cli'))"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 5, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True"]
