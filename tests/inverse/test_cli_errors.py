"""`inverse` bad input: --config files of the wrong shape, option values, targets that are directories and
--out paths that cannot be written; each one `error:` line (or a usage error), exit status 2, nothing written."""

import json
import math
from dataclasses import fields

import pytest
import soundfile
import torch

from inverse import checkpoint
from inverse.cli import main
from inverse.model import InverseModel
from inverse.target import load_any_target
from inverse.train import TRAIN_RULES, TrainConfig
from synth.audio_io import write_wav
from synth.errors import InputError


def one_error(args, capsys) -> str:
    """Run a command that must fail with one `error:` line and status 2; returns that line."""
    capsys.readouterr()
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def usage_error(args, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("content, expected", [
    ("[1, 2]", "expected a JSON object with 'model' and/or 'train' sections, got a list"),
    ('"train"', "expected a JSON object with 'model' and/or 'train' sections, got a string"),
    ('{"train": {"lr": "fast"}}', "in 'train': lr: expected a positive finite number, got 'fast'"),
    ('{"train": {"lr": -1}}', "in 'train': lr: expected a positive finite number, got -1"),
    ('{"train": {"num_workers": -1}}', "in 'train': num_workers: expected a non-negative integer, got -1"),
    ('{"train": {"epochs": 2.5}}', "in 'train': epochs: expected a positive integer, got 2.5"),
    ('{"train": {"spectral_weight": -0.5}}', "spectral_weight: expected a non-negative finite number, got -0.5"),
    ('{"train": [1]}', "in 'train': expected an object of training options, got a list"),
    ('{"train": {"speed": 3}}', "in 'train': unknown training options: speed"),
    ('{"model": 3}', "in 'model': expected a model config object with 'backbone' and 'head' objects, got a number"),
    ('{"model": {"backbone": {"widths": "wide"}, "head": {}}}',
     "in 'model': BackboneConfig.widths: expected tuple[int, ...], got 'wide'"),
    ('{"model": {"backbone": {}, "head": {"dropout": "none"}}}', "HeadConfig.dropout: expected float, got 'none'"),
    ("{not json", "expected a JSON config, could not parse it"),
])
def test_config_of_the_wrong_shape_is_one_line_naming_the_file(content, expected, tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(content)
    err = one_error(["train", "--train", tmp_path / "missing.h5", "--out", tmp_path / "run", "--config", config],
                    capsys)
    assert err.startswith(f"error: {config}: ") and expected in err, err
    assert not (tmp_path / "run").exists()


def test_config_that_is_a_directory(tmp_path, capsys):
    err = one_error(["train", "--train", tmp_path / "x.h5", "--out", tmp_path / "run", "--config", tmp_path], capsys)
    assert err == f"error: {tmp_path}: expected a file, got a directory\n"


@pytest.mark.parametrize("option, value, expected", [
    ("--lr", "-1", "expected a positive finite number, got -1"),
    ("--lr", "nan", "expected a positive finite number, got nan"),
    ("--lr", "inf", "expected a positive finite number, got inf"),
    ("--lr", "fast", "expected a positive finite number, got 'fast'"),
    ("--num-workers", "-1", "expected a non-negative integer, got -1"),
    ("--spectral-weight", "-1", "expected a non-negative finite number, got -1"),
    ("--spectral-weight", "nan", "expected a non-negative finite number, got nan"),
    ("--epochs", "0", "expected a positive integer, got 0"),
])
def test_train_option_values_are_usage_errors(option, value, expected, tmp_path, capsys):
    err = usage_error(["train", "--train", tmp_path / "x.h5", "--out", tmp_path / "run", option, value], capsys)
    assert f"argument {option}: {expected}" in err
    assert not (tmp_path / "run").exists()


def test_tune_num_workers_is_a_usage_error(tmp_path, capsys):
    err = usage_error(["tune", "--train", "a.h5", "--val", "b.h5", "--out", tmp_path / "t", "--trials", "1",
                       "--num-workers", "-1"], capsys)
    assert "argument --num-workers: expected a non-negative integer, got -1" in err


def test_train_config_validates_every_field_in_one_place():
    assert set(TRAIN_RULES) == {f.name for f in fields(TrainConfig)}
    for changes, expected in [({"lr": float("nan")}, "lr"), ({"num_workers": -1}, "num_workers"),
                              ({"val_fraction": 1.0}, "val_fraction"), ({"batch_size": True}, "batch_size")]:
        with pytest.raises(InputError, match=f"^{expected}: expected"):
            TrainConfig(**changes)


@pytest.fixture
def tiny_checkpoint(tiny, tmp_path):
    torch.manual_seed(0)
    return checkpoint.save(InverseModel(tiny), tmp_path / "m").with_suffix("")


def test_a_directory_as_target_says_so(tiny_checkpoint, tmp_path, capsys):
    (tmp_path / "spec.png").mkdir()
    for args in (["predict", tmp_path, "--model", tiny_checkpoint],
                 ["predict", tmp_path / "spec.png", "--model", tiny_checkpoint],
                 ["search", tmp_path, "--budget", "16"]):
        err = one_error(args, capsys)
        assert err == f"error: {args[1]}: expected a file, got a directory\n"


def test_a_silent_target_is_refused_and_fails_alone_among_several(tiny_checkpoint, tmp_path, capsys):
    write_wav(tmp_path / "quiet.wav", torch.zeros(8000), 16000)
    expected = f"error: {tmp_path / 'quiet.wav'}: the first 4.088 s are silent (peak below -80 dBFS): there is nothing "
    for args in (["predict", tmp_path / "quiet.wav", "--model", tiny_checkpoint],
                 ["search", tmp_path / "quiet.wav", "--budget", "16"]):
        assert one_error(args, capsys) == expected + "to match\n"
    assert not list(tmp_path.glob("out*"))
    # among several targets it fails alone: the other one is answered
    write_wav(tmp_path / "tone.wav", 0.5 * torch.sin(torch.arange(16000) * (2 * math.pi * 440 / 16000)), 16000)
    code = main(["search", str(tmp_path / "quiet.wav"), str(tmp_path / "tone.wav"), "--budget", "8", "--samples", "2",
                 "--render", "eager", "--json"])
    answers = json.loads(capsys.readouterr().out)
    assert code == 2 and [sorted(a) for a in answers][0] == ["error", "source"] and "candidates" in answers[1]


def test_a_stereo_target_is_averaged_by_default_and_refused_with_no_downmix(tmp_path, capsys):
    tone = 0.5 * torch.sin(torch.arange(16000) * (2 * math.pi * 440 / 16000))
    soundfile.write(tmp_path / "stereo.wav", torch.stack([tone, 0.5 * tone], dim=1).numpy(), 16000, subtype="FLOAT")
    capsys.readouterr()
    code = main(["search", str(tmp_path / "stereo.wav"), "--budget", "8", "--samples", "2", "--render", "eager",
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0 and "candidates" in json.loads(captured.out)
    assert f"note: {tmp_path / 'stereo.wav'}: downmixed 2 channels to mono (mean of the channels)\n" in captured.err
    err = one_error(["search", tmp_path / "stereo.wav", "--budget", "8", "--samples", "2", "--no-downmix"], capsys)
    assert err == f"error: {tmp_path / 'stereo.wav'}: expected mono audio, got 2 channels (--downmix averages the " \
                  "channels)\n"


def test_a_stereo_target_whose_channels_cancel_is_read_from_one_of_them(tmp_path):
    # a wide patch exported with one side inverted: the mean is digital silence, which was refused as a silent target
    tone = 0.5 * torch.sin(torch.arange(16000) * (2 * math.pi * 440 / 16000))
    soundfile.write(tmp_path / "inverted.wav", torch.stack([tone, -tone], dim=1).numpy(), 16000, subtype="FLOAT")
    soundfile.write(tmp_path / "mono.wav", tone.numpy(), 16000, subtype="FLOAT")
    stereo, mono = load_any_target(tmp_path / "inverted.wav"), load_any_target(tmp_path / "mono.wav")
    assert torch.equal(stereo.audio, mono.audio)
    assert any("read channel 1 of 2, the loudest: the mean of the channels is silent" in n for n in stereo.notes)


def test_a_start_past_the_end_is_one_line_and_a_negative_one_a_usage_error(
        tiny_checkpoint, tmp_path, capsys):
    write_wav(tmp_path / "tone.wav", 0.5 * torch.sin(torch.arange(16000) * (2 * math.pi * 440 / 16000)), 16000)
    for command in (["predict", "--model", tiny_checkpoint], ["search", "--budget", "16"]):
        err = one_error([command[0], tmp_path / "tone.wav", "--start", "2", *command[1:]], capsys)
        assert err == f"error: {tmp_path / 'tone.wav'}: nothing to read from 2.000 s on: the file is 1.000 s long\n"
    assert "argument --start: expected a non-negative finite number, got -1" in usage_error(
        ["predict", tmp_path / "tone.wav", "--start", "-1"], capsys)
    assert not list(tmp_path.glob("out*"))


@pytest.mark.parametrize("command", ["predict", "search"])
def test_out_that_cannot_be_a_directory_is_refused_first(command, tmp_path, capsys):
    """Checked before the model, the target or the search: neither path exists here."""
    (tmp_path / "file").write_text("x")
    extra = ["--budget", "16"] if command == "search" else ["--model", tmp_path / "missing"]
    err = one_error([command, tmp_path / "missing.png", "--out", tmp_path / "file", *extra], capsys)
    assert err == f"error: --out {tmp_path / 'file'}: expected a directory, got a file\n"
    err = one_error([command, tmp_path / "missing.png", "--out", tmp_path / "file" / "sub", *extra], capsys)
    assert "expected a directory that can be created" in err and f"{tmp_path / 'file'} is a file" in err


@pytest.mark.parametrize("command", ["train", "tune"])
def test_run_directory_that_is_a_file_is_refused_first(command, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    extra = ["--val", "b.h5", "--trials", "1"] if command == "tune" else []
    err = one_error([command, "--train", "a.h5", "--out", tmp_path / "file", *extra], capsys)
    assert "--out" in err and "expected a directory, got a file" in err

