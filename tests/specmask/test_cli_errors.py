"""`specmask` bad input: option values, output paths checked before the work, the input and outputs kept apart,
stdin, mask PNGs, write errors and foreign checkpoints; each one `error:` line, exit status 2, no file left."""

import errno
import io
import os
import shlex
import sys

import numpy as np
import pytest
import soundfile
from PIL import Image

import specmask.figures
from inverse import checkpoint as inverse_checkpoint
from specmask.cli import build_parser, main


@pytest.fixture(scope="module")
def model(mask_run):
    return str(mask_run[0] / "best")


@pytest.fixture
def wav(tmp_path):
    """1 s of a tone in noise at 16 kHz, alone in its folder (tests check that nothing else appears there)."""
    folder = tmp_path / "work"
    folder.mkdir()
    rng = np.random.default_rng(0)
    audio = 0.3 * np.sin(np.arange(16000) / 5) + 0.05 * rng.standard_normal(16000)
    soundfile.write(folder / "in.wav", audio.astype(np.float32), 16000, subtype="FLOAT")
    return folder / "in.wav"


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error(args, capsys) -> str:
    """Run a command that must fail with one `error:` line and status 2; returns that line."""
    code, _, err = run(args, capsys)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def usage_error(args, capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    assert exit_info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("option, value, expected", [
    ("--lr", "-1", "expected a positive finite number, got -1"),
    ("--lr", "nan", "expected a positive finite number, got nan"),
    ("--lr-disc", "inf", "expected a positive finite number, got inf"),
    ("--num-workers", "-1", "expected a non-negative integer, got -1"),
    ("--spectral-weight", "-1", "expected a non-negative finite number, got -1"),
    ("--reverb-prob", "2", "expected a probability in [0, 1], got 2"),
    ("--eq-prob", "-0.1", "expected a probability in [0, 1], got -0.1"),
    ("--external-share", "1.5", "expected a probability in [0, 1], got 1.5"),
    ("--adversarial-start", "-3", "expected a non-negative integer, got -3"),
])
def test_train_option_values_are_usage_errors(option, value, expected, tmp_path, capsys):
    err = usage_error(["train", "--out", tmp_path / "run", option, value], capsys)
    assert f"argument {option}: {expected}" in err
    assert not (tmp_path / "run").exists()


def test_snr_range_must_be_ordered(tmp_path, capsys):
    err = one_error(["train", "--out", tmp_path / "run", "--snr", "10", "-5"], capsys)
    assert "--snr LOW HIGH" in err and "expected LOW <= HIGH, got 10 > -5" in err
    assert "expected a finite number, got nan" in usage_error(["train", "--out", tmp_path / "run", "--snr", "nan",
                                                               "1"], capsys)
    assert not (tmp_path / "run").exists()


def test_train_out_that_is_a_file_is_refused_first(tmp_path, capsys):
    (tmp_path / "taken").write_text("x")
    err = one_error(["train", "--out", tmp_path / "taken", "--backbone", tmp_path / "missing"], capsys)
    assert "--out" in err and "expected a directory, got a file" in err


@pytest.mark.parametrize("option, value", [("--strength", "-1"), ("--floor", "nan"), ("--lookahead", "-5")])
def test_enhance_option_values_are_usage_errors(option, value, wav, capsys):
    err = usage_error(["enhance", wav, "-o", wav.parent / "out.wav", option, value], capsys)
    assert f"argument {option}: expected a non-negative" in err


def test_empty_stdin_is_an_error_and_leaves_no_file(wav, model, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    err = one_error(["enhance", "-", "-o", wav.parent / "out.wav", "--stream", "--model", model], capsys)
    assert "stdin: expected raw signed 16-bit PCM samples, got none" in err
    assert sorted(os.listdir(wav.parent)) == ["in.wav"]


def test_stdin_without_stream_says_so(wav, capsys):
    err = one_error(["enhance", "-", "-o", wav.parent / "out.wav"], capsys)
    assert "needs --stream" in err
    assert sorted(os.listdir(wav.parent)) == ["in.wav"]


@pytest.mark.parametrize("option", ["-o", "--figure", "--save-mask", "--rest"])
def test_every_output_path_is_checked_before_the_work(option, wav, model, capsys):
    """A folder that is a file or missing, or an existing directory as the path: refused before enhancing, so
    no output at all appears (the checks that hold for root too; see the os.access test for permissions)."""
    folder = wav.parent
    (folder / "plain").write_text("a file")
    (folder / "adir").mkdir()
    before = sorted(os.listdir(folder))
    for bad, expected in [(folder / "plain" / "x.png", "is a file"), (folder / "nowhere" / "x.png", "does not exist"),
                          (folder / "adir", "expected a file path, got a directory")]:
        outputs = {"-o": folder / "out.wav", option: bad}
        args = ["enhance", wav, "--model", model, *[a for pair in outputs.items() for a in pair]]
        err = one_error(args, capsys)
        assert f"{option} {bad}" in err and expected in err, err
        assert sorted(os.listdir(folder)) == before


def test_an_unwritable_folder_is_refused_before_the_work(wav, model, monkeypatch, capsys):
    monkeypatch.setattr("synth.paths.os.access", lambda path, mode: os.fspath(path) != str(wav.parent / "ro"))
    (wav.parent / "ro").mkdir()
    err = one_error(["enhance", wav, "-o", wav.parent / "out.wav", "--model", model, "--figure",
                     wav.parent / "ro" / "fig.png"], capsys)
    assert f"--figure {wav.parent / 'ro' / 'fig.png'}" in err and "is not writable" in err
    assert not (wav.parent / "out.wav").exists()


def test_a_failure_after_the_audio_leaves_no_output_behind(wav, model, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error", str(args[2]))

    monkeypatch.setattr(specmask.figures, "before_after_figure", broken)
    err = one_error(["enhance", wav, "-o", wav.parent / "out.wav", "--model", model, "--save-mask",
                     wav.parent / "mask.png", "--figure", wav.parent / "fig.png"], capsys)
    assert f"error: {wav.parent / 'fig.png'}: Input/output error" in err
    assert sorted(os.listdir(wav.parent)) == ["in.wav"]


def test_input_and_outputs_must_differ(wav, model, capsys):
    folder, original = wav.parent, wav.read_bytes()
    (folder / "link.wav").symlink_to(wav)
    write = folder / "out.wav"
    cases = [
        (["-o", wav], f"-o {wav} is the same file as the input {wav}"),
        (["-o", folder / "link.wav"], "is the same file as the input"),
        (["-o", folder / "sub" / ".." / "in.wav"], "is the same file as the input"),
        (["-o", write, "--rest", wav], f"--rest {wav} is the same file as the input"),
        (["-o", write, "--figure", write], f"--figure {write} is the same file as -o {write}"),
        (["-o", write, "--save-mask", folder / "m.png", "--figure", folder / "m.png"],
         "is the same file as --save-mask"),
    ]
    (folder / "sub").mkdir()
    for options, expected in cases:
        err = one_error(["enhance", wav, "--model", model, *options], capsys)
        assert expected in err, err
    assert wav.read_bytes() == original and not write.exists()


def test_edited_mask_must_not_be_the_output(wav, capsys):
    mask = wav.parent / "mask.png"
    Image.new("L", (512, 512), 127).save(mask)
    err = one_error(["enhance", wav, "-o", wav.parent / "out.wav", "--mask", mask, "--save-mask", mask], capsys)
    assert f"--save-mask {mask} is the same file as --mask {mask}" in err


def test_a_directory_as_input_says_so(wav, capsys):
    err = one_error(["enhance", wav.parent, "-o", wav.parent / "out.wav"], capsys)
    assert err == f"error: {wav.parent}: expected a file, got a directory\n"
    err = one_error(["enhance", wav, "-o", wav.parent / "out.wav", "--mask", wav.parent], capsys)
    assert "expected a file, got a directory" in err


def test_mask_png_of_the_wrong_kind_names_save_mask(wav, capsys):
    Image.new("RGB", (640, 480)).save(wav.parent / "big.png")
    err = one_error(["enhance", wav, "-o", wav.parent / "out.wav", "--mask", wav.parent / "big.png"], capsys)
    assert "expected a 512x512 grayscale PNG" in err and "got a 640x480 RGB PNG image" in err
    assert "--save-mask" in err and "convert" not in err
    assert sorted(os.listdir(wav.parent)) == ["big.png", "in.wav"]


@pytest.mark.parametrize("failure", [
    OSError(errno.ENOSPC, "No space left on device"),
    soundfile.LibsndfileError(2, prefix="Error writing: "),
    AssertionError(),  # soundfile's check that every frame was written
])
@pytest.mark.parametrize("stream", [False, True])
def test_write_errors_name_the_users_path(failure, stream, wav, model, monkeypatch, capsys):
    def failing_write(self, data):
        if isinstance(failure, OSError):
            raise OSError(failure.errno, failure.strerror, self.name)  # what the OS reports: the temporary name
        raise failure

    monkeypatch.setattr(soundfile.SoundFile, "write", failing_write)
    out = wav.parent / "out.wav"
    err = one_error(["enhance", wav, "-o", out, "--model", model, *(["--stream"] if stream else [])], capsys)
    assert err.startswith(f"error: {out}: ") and ".tmp" not in err, err
    assert sorted(os.listdir(wav.parent)) == ["in.wav"]


def test_outputs_get_the_permissions_open_gives(wav, model, capsys):
    folder = wav.parent
    previous = os.umask(0o027)
    try:
        with open(folder / "plain.wav", "w"):
            pass
        code, _, _ = run(["enhance", wav, "-o", folder / "out.wav", "--model", model, "--rest", folder / "rest.wav",
                          "--save-mask", folder / "mask.png"], capsys)
    finally:
        os.umask(previous)
    assert code == 0
    expected = (folder / "plain.wav").stat().st_mode
    assert expected & 0o777 == 0o640
    for name in ("out.wav", "rest.wav", "mask.png"):
        assert (folder / name).stat().st_mode == expected, name


def test_inverse_only_checkpoint_suggests_a_command_that_works(wav, inverse_ckpt, tmp_path, monkeypatch, capsys):
    """The suggested `specmask train` must parse and must not hit "already holds a run": here the inverse run
    itself sits in runs/mask, and its folder name has a space."""
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "runs" / "mask"
    inverse_checkpoint.save(inverse_checkpoint.load(inverse_ckpt)[0], tmp_path / "my runs" / "best")
    inverse_checkpoint.save(inverse_checkpoint.load(inverse_ckpt)[0], run_dir / "last")
    for model in ["my runs/best", "runs/mask/last"]:
        err = one_error(["enhance", wav, "-o", wav.parent / "out.wav", "--model", model], capsys)
        assert "has no mask head" in err
        command = shlex.split(err.split("`")[1])
        assert command[:2] == ["specmask", "train"]
        args = build_parser().parse_args(command[1:])
        assert inverse_checkpoint.load(args.backbone)[0] is not None
        assert not (tmp_path / args.out / "last.json").exists() and args.out != "runs/mask"
