"""`specmask enhance` end to end on real WAV files (tiny trained checkpoint): rates, channels, modes, mask PNGs,
streaming from a file and from stdin, and bad input as one line with a non-zero exit and no NaN output."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch
import torchaudio.functional as AF

from specmask.cli import main
from synth.image_io import read_png, write_png


@pytest.fixture(scope="module")
def model(mask_run):
    return str(mask_run[0] / "best")


@pytest.fixture(scope="module")
def stereo(tmp_path_factory):
    """5 s of two different tones plus noise at 44.1 kHz, stereo, 16-bit."""
    rate = 44100
    t = np.arange(int(rate * 5)) / rate
    rng = np.random.default_rng(0)
    left = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(t.size)
    right = 0.3 * np.sin(2 * np.pi * 550 * t) + 0.05 * rng.standard_normal(t.size)
    path = tmp_path_factory.mktemp("audio") / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_offline_keeps_rate_length_and_channels(stereo, model, tmp_path, capsys):
    out = tmp_path / "out.wav"
    code, stdout, _ = run(["enhance", stereo, "-o", out, "--model", model, "--json", "--figure",
                           tmp_path / "fig.png"], capsys)
    assert code == 0
    report = json.loads(stdout)
    assert (tmp_path / "fig.png").stat().st_size > 10000
    audio, rate = soundfile.read(out, always_2d=True)
    source, _ = soundfile.read(stereo, always_2d=True)
    assert rate == 44100 and audio.shape == source.shape and np.isfinite(audio).all()
    assert report["real_time_factor"] > 0 and report["channels"] == 2 and report["model"] == str(model)
    code, _, _ = run(["enhance", stereo, "-o", tmp_path / "mono.wav", "--model", model, "--channels", "downmix"],
                     capsys)
    assert code == 0 and soundfile.info(tmp_path / "mono.wav").channels == 1


def test_separate_writes_a_rest_that_sums_back_to_the_input(stereo, model, tmp_path, capsys):
    wav = tmp_path / "float.wav"
    source, rate = soundfile.read(stereo, always_2d=True, dtype="float32")
    soundfile.write(wav, source, rate, subtype="FLOAT")
    code, _, _ = run(["enhance", wav, "-o", tmp_path / "kept.wav", "--mode", "separate", "--rest",
                      tmp_path / "rest.wav", "--model", model], capsys)
    assert code == 0
    kept, _ = soundfile.read(tmp_path / "kept.wav", always_2d=True)
    rest, _ = soundfile.read(tmp_path / "rest.wav", always_2d=True)
    assert np.abs(kept + rest - source).max() < 1e-5


def test_saved_mask_png_and_edited_masks(stereo, model, tmp_path, capsys):
    code, _, _ = run(["enhance", stereo, "-o", tmp_path / "a.wav", "--model", model, "--save-mask",
                      tmp_path / "mask.png"], capsys)
    assert code == 0 and read_png(tmp_path / "mask.png").shape == (512, 512)
    write_png(tmp_path / "unity.png", np.full((512, 512), 127, np.uint8))  # gain 1 everywhere
    write_png(tmp_path / "zero.png", np.zeros((512, 512), np.uint8))
    source, _ = soundfile.read(stereo, always_2d=True, dtype="float32")
    # full band (default): a mask of ones gives the 44.1 kHz input back, highs included (16-bit output)
    run(["enhance", stereo, "-o", tmp_path / "unity.wav", "--mask", tmp_path / "unity.png"], capsys)
    unity, _ = soundfile.read(tmp_path / "unity.wav", always_2d=True)
    assert np.abs(unity - source).max() < 1e-3
    run(["enhance", stereo, "-o", tmp_path / "zero.wav", "--mask", tmp_path / "zero.png"], capsys)
    assert np.abs(soundfile.read(tmp_path / "zero.wav")[0]).max() < 1e-3
    run(["enhance", stereo, "-o", tmp_path / "inv.wav", "--mask", tmp_path / "zero.png", "--invert"], capsys)
    assert np.abs(soundfile.read(tmp_path / "inv.wav", always_2d=True)[0] - source).max() < 1e-3
    # --band-limited: the 16 kHz path of before, nothing above 8 kHz
    band_limited = AF.resample(AF.resample(torch.from_numpy(source.T), 44100, 16000), 16000, 44100).T.numpy()
    run(["enhance", stereo, "-o", tmp_path / "narrow.wav", "--mask", tmp_path / "unity.png", "--band-limited"],
        capsys)
    narrow, _ = soundfile.read(tmp_path / "narrow.wav", always_2d=True)
    assert np.abs(narrow - band_limited).max() < 0.02  # 16-bit output, STFT round trip without the Nyquist bin


def test_streaming_from_a_file_reports_latency_and_matches_the_length(stereo, model, tmp_path, capsys):
    threads = torch.get_num_threads()
    code, stdout, _ = run(["enhance", stereo, "-o", tmp_path / "s.wav", "--model", model, "--stream", "--block",
                           "4096", "--lookahead", "1024", "--threads", "1" if threads > 1 else "2", "--json"], capsys)
    assert code == 0
    assert torch.get_num_threads() == threads  # --threads holds for the command only (it ran in this process)
    report = json.loads(stdout)
    # full band: block + lookahead at 44.1 kHz (11290 + 2822 samples), no resampler in the path
    assert report["full_band"] and report["latency_ms"] == pytest.approx(1000 * 14112 / 44100, abs=0.1)
    assert report["model"] == str(model)
    assert report["real_time_factor"] > 0
    audio, rate = soundfile.read(tmp_path / "s.wav", always_2d=True)
    assert audio.shape == soundfile.read(stereo, always_2d=True)[0].shape and rate == 44100


def test_streaming_from_stdin_raw_pcm(model, tmp_path):
    rng = np.random.default_rng(1)
    pcm = (0.2 * rng.standard_normal(16000 * 3) * 32767).astype("<i2").tobytes()
    done = subprocess.run([sys.executable, "-m", "specmask", "enhance", "-", "-o", str(tmp_path / "live.wav"),
                           "--stream", "--model", model, "--json"], input=pcm, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-1000:]
    assert soundfile.info(tmp_path / "live.wav").frames == 16000 * 3


def _write(path, data, rate=16000, subtype="FLOAT"):
    soundfile.write(path, data, rate, subtype=subtype)
    return path


def test_bad_inputs_are_one_line_errors(tmp_path, model, inverse_ckpt, capsys):
    ok = _write(tmp_path / "ok.wav", (0.1 * np.sin(np.arange(16000) / 5)).astype(np.float32))
    nan = np.full(16000, 0.1, np.float32)
    nan[100] = np.nan
    clipped = np.clip(3 * np.sin(np.arange(16000) / 5), -1, 1).astype(np.float32)
    (tmp_path / "text.wav").write_text("not audio")
    cases = {
        "empty": (_write(tmp_path / "empty.wav", np.zeros(0, np.float32)), "empty"),
        "silent": (_write(tmp_path / "silent.wav", np.zeros(16000, np.float32)), "silent"),
        "nan": (_write(tmp_path / "nan.wav", nan), "NaN"),
        "clipped": (_write(tmp_path / "clipped.wav", clipped), "clipped"),
        "not audio": (tmp_path / "text.wav", "expected an audio file"),
        "rate": (_write(tmp_path / "slow.wav", np.full(4000, 0.1, np.float32), rate=4000), "sample rate"),
    }
    for name, (path, expected) in cases.items():
        code, _, err = run(["enhance", path, "-o", tmp_path / "x.wav", "--model", model], capsys)
        assert code == 2 and err.startswith("error: ") and expected in err and err.count("\n") == 1, (name, err)
        assert not (tmp_path / "x.wav").exists(), name
    code, _, err = run(["enhance", ok, "-o", tmp_path / "x.wav", "--model", inverse_ckpt], capsys)
    assert code == 2 and "no mask head" in err
    code, _, err = run(["enhance", ok, "-o", tmp_path / "x.wav", "--model", model, "--exponent", "5"], capsys)
    assert code == 2 and err == "error: expected exponent in [0.25, 4], got 5.0\n" and not (tmp_path / "x.wav").exists()
    code, _, err = run(["enhance", cases["clipped"][0], "-o", tmp_path / "c.wav", "--model", model,
                        "--allow-clipped"], capsys)
    assert code == 0 and np.isfinite(soundfile.read(tmp_path / "c.wav")[0]).all()
    done = subprocess.run([sys.executable, "-m", "specmask", "enhance", str(cases["nan"][0]), "-o",
                           str(tmp_path / "y.wav"), "--model", model], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_several_files_in_one_process_each_as_alone(stereo, model, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    mono, bad = folder / "mono.wav", folder / "bad.wav"
    t = np.arange(16000 * 2) / 16000
    noisy = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.random.default_rng(1).standard_normal(t.size)
    soundfile.write(mono, noisy.astype(np.float32), 16000, subtype="PCM_16")
    bad.write_text("not audio")
    out = tmp_path / "out"
    code, stdout, err = run(["enhance", stereo, bad, mono, "-o", out, "--model", model, "--figure", out / "figs",
                             "--json"], capsys)
    assert code == 2 and "Traceback" not in err
    reports = json.loads(stdout)
    assert ["error" in r for r in reports] == [False, True, False] and "bad.wav" in reports[1]["error"]
    assert "2 of 3 files enhanced" in err and f"failed: {bad}" in err
    assert sorted(p.name for p in out.iterdir()) == ["figs", "mono.wav", "stereo.wav"]
    assert sorted(p.name for p in (out / "figs").iterdir()) == ["mono.png", "stereo.png"]
    code, _, _ = run(["enhance", mono, "-o", tmp_path / "alone.wav", "--model", model], capsys)
    assert code == 0 and (tmp_path / "alone.wav").read_bytes() == (out / "mono.wav").read_bytes()
    # an output that would replace an input is refused before any work, and the folders made for it go again
    code, _, err = run(["enhance", stereo, mono, "-o", tmp_path / "new" / "o", "--rest", folder, "--model", model],
                       capsys)
    assert code == 2 and "same file as the input" in err and not (tmp_path / "new").exists()
    code, _, err = run(["enhance", stereo, mono, "-o", out, "--rest", out, "--model", model], capsys)
    assert code == 2 and "name the same folder" in err
    code, _, err = run(["enhance", stereo, mono, "-o", out, "--stream", "--model", model], capsys)
    assert code == 2 and "--stream enhances one input" in err
