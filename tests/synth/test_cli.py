"""``python -m synth``: each subcommand in-process, and the one-line error contract as a real subprocess."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

import synth
from synth.cli import main, random_patch
from synth.image_io import read_png
from synth.params import NUM_PARAMS, PARAM_NAMES, canonicalize
from synth.patch import load_patch
from synth.prior import draw

REPO = Path(__file__).resolve().parents[2]
needs_render = pytest.mark.skipif(not hasattr(synth, "render"), reason="synth.render (the voice) is not written yet")


def run_module(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "synth", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_params_markdown_and_json(capsys):
    assert main(["params"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == NUM_PARAMS + 2
    assert "`filter_type`" in lines[2 + PARAM_NAMES.index("filter_type")]
    assert "0 lowpass, 1 bandpass" in lines[2 + PARAM_NAMES.index("filter_type")]
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 9 for line in lines)  # 8 columns on every row
    assert main(["params", "--format", "json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in table] == list(PARAM_NAMES)


def test_random_writes_the_prior_row(tmp_path, capsys):
    assert main(["random", "--seed", "5", "-o", str(tmp_path / "p.json")]) == 0
    expected = canonicalize(draw(5, 0, 1))[0]
    assert torch.allclose(load_patch(tmp_path / "p.json"), expected, atol=1e-6)
    assert torch.equal(random_patch(5), expected)
    assert str(tmp_path / "p.json") in capsys.readouterr().out
    assert main(["random", "--seed", "5", "--sampler", "sobol", "-o", str(tmp_path / "s.json")]) == 0
    assert not torch.allclose(load_patch(tmp_path / "s.json"), expected, atol=1e-3)


def test_spectrogram_command_notes_resampling(tmp_path, capsys):
    t = np.arange(22050) / 22050
    soundfile.write(str(tmp_path / "in.wav"), 0.5 * np.sin(2 * np.pi * 1000 * t), 22050)
    assert main(["spectrogram", str(tmp_path / "in.wav"), "-o", str(tmp_path / "out.png")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("note: ") and "22050 Hz -> 16000 Hz" in line for line in err)
    image = read_png(tmp_path / "out.png")
    assert (image[:, 20:100].argmax(axis=0) == 64).all()  # 1000 Hz, within the 1 s of input
    assert (image[:, 200:] == 0).all()  # zero-padded after that


def test_unwritable_output_is_one_line_error(tmp_path, capsys):
    status = main(["random", "--seed", "1", "-o", str(tmp_path / "no" / "such" / "dir" / "p.json")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "No such file or directory" in err


def test_bad_patch_in_a_subprocess(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps({"synth_version": "0.0.1", "params": {}}))
    result = run_module("render", str(tmp_path / "bad.json"), "-o", str(tmp_path / "x.wav"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "patch was made for synth version 0.0.1" in lines[0]
    assert not (tmp_path / "x.wav").exists()


def test_stereo_wav_in_a_subprocess(tmp_path):
    soundfile.write(str(tmp_path / "st.wav"), np.zeros((1600, 2), dtype=np.float32), 16000)
    result = run_module("spectrogram", str(tmp_path / "st.wav"), "-o", str(tmp_path / "x.png"), "--no-downmix")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "expected mono audio, got 2 channels (--downmix averages the channels)" in lines[0]
    assert not (tmp_path / "x.png").exists()
    result = run_module("spectrogram", str(tmp_path / "st.wav"), "-o", str(tmp_path / "x.png"))  # averaged by default
    assert result.returncode == 0 and "downmixed 2 channels to mono" in result.stderr
    assert (tmp_path / "x.png").exists()


@needs_render
def test_render_writes_wav_and_png(tmp_path, capsys):
    assert main(["random", "--seed", "3", "-o", str(tmp_path / "p.json")]) == 0
    assert main(["render", str(tmp_path / "p.json"), "-o", str(tmp_path / "a.wav"),
                 "--png", str(tmp_path / "a.png")]) == 0
    info = soundfile.info(str(tmp_path / "a.wav"))
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, 65408)
    assert read_png(tmp_path / "a.png").shape == (512, 512)
    assert "dBFS" in capsys.readouterr().out


@needs_render
def test_demo_writes_three_files(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--seed", "2"]) == 0
    out = capsys.readouterr().out
    for name in ("patch.json", "audio.wav", "spectrogram.png"):
        assert (tmp_path / "demo" / name).is_file()
        assert str(tmp_path / "demo" / name) in out
    assert "peak" in out and "4.088 s" in out
