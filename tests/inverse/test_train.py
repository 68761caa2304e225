"""One-epoch training smoke test in-process on the CPU, checkpoints, resume, and bad checkpoints."""

import csv
import json

import pytest
import torch

from dataset_gen.generate import GenerateOptions, generate
from inverse import checkpoint
from inverse.config import ModelConfig
from inverse.model import InverseModel
from inverse.train import TrainConfig, train
from synth.errors import InputError

FAST = TrainConfig(epochs=1, batch_size=4, num_workers=0, scale_rows=8, val_fraction=0.25)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train.h5"
    generate(GenerateOptions(num_rows=8, out=path, seed=3, batch_size=8), progress=False)
    return path


def test_one_epoch_writes_checkpoints_log_and_loads(tiny, data, tmp_path):
    metrics = train(data, tmp_path / "run", model_config=tiny, config=FAST, device="cpu", progress=False)
    assert metrics["epoch"] == 1 and torch.isfinite(torch.tensor(metrics["val/loss"]))
    for name in ("best", "last", "state"):
        assert (tmp_path / "run" / f"{name}.safetensors").is_file()
    rows = list(csv.DictReader((tmp_path / "run" / "log.csv").open()))
    assert len(rows) == 1 and float(rows[0]["train/loss"]) > 0
    model, info = checkpoint.load(tmp_path / "run" / "best")
    assert isinstance(model, InverseModel) and ModelConfig.from_json(info["model_config"]) == tiny
    assert info["data"]["train_rows"] == 6 and info["data"]["val_rows"] == 2
    assert info["data"]["train"]["prior"] == "2", "the checkpoint records the prior its data was drawn from"
    assert (model.latent_scale != 1.0).any(), "latent spread must be measured on training data"
    with torch.no_grad():
        out = model.decode(model.encode(torch.rand(2, 1, 512, 512)))
    assert out.shape == (2, 100) and float(out.min()) >= 0 and float(out.max()) <= 1


def test_resume_continues_and_refuses_to_overwrite(tiny, data, tmp_path):
    run = tmp_path / "run"
    train(data, run, model_config=tiny, config=FAST, device="cpu", progress=False)
    with pytest.raises(InputError, match="--resume"):
        train(data, run, model_config=tiny, config=FAST, device="cpu", progress=False)
    metrics = train(data, run, config=TrainConfig(epochs=2), device="cpu", resume=True, progress=False)
    assert metrics["epoch"] == 2
    assert len(list(csv.DictReader((run / "log.csv").open()))) == 2


def test_init_starts_from_a_checkpoint_and_its_config(tiny, data, tmp_path, capsys):
    train(data, tmp_path / "first", model_config=tiny, config=FAST, device="cpu", progress=False)
    tuned = TrainConfig(**{**FAST.__dict__, "lr": 1e-9, "seed": 1})  # another seed: fresh weights would differ
    train(data, tmp_path / "tuned", config=tuned, device="cpu", progress=False, init=tmp_path / "first" / "best")
    start, _ = checkpoint.load(tmp_path / "first" / "best")
    model, info = checkpoint.load(tmp_path / "tuned" / "last")
    assert ModelConfig.from_json(info["model_config"]) == tiny  # the checkpoint's model, not the default one
    weights = dict(model.named_parameters())
    for name, value in start.named_parameters():  # a step of 1e-9 away
        assert torch.allclose(weights[name], value, atol=1e-6), name
    assert json.loads((tmp_path / "tuned" / "config.json").read_text())["init"] == str(tmp_path / "first" / "best")
    from inverse.cli import main

    assert main(["train", "--train", str(data), "--out", str(tmp_path / "x"), "--init",
                 str(tmp_path / "first" / "best"), "--stem-stride", "4"]) == 2
    assert "leave out --widths and --stem-stride" in capsys.readouterr().err


def test_checkpoint_round_trip_is_exact(tiny, tmp_path):
    torch.manual_seed(0)
    model = InverseModel(tiny)
    checkpoint.save(model, tmp_path / "m")
    loaded, _ = checkpoint.load(tmp_path / "m.safetensors")
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("field, value, message", [
    ("synth_version", "0.0.1", "synth version"),
    ("param_spec_sha256", "0" * 16, "parameter specification"),
    ("format_version", 99, "format"),
])
def test_checkpoint_that_does_not_fit_is_refused(tiny, tmp_path, field, value, message):
    checkpoint.save(InverseModel(tiny), tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    meta[field] = value
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=message):
        checkpoint.load(tmp_path / "m")


def test_weights_that_do_not_fit_the_config_are_refused(tiny, tmp_path):
    checkpoint.save(InverseModel(tiny), tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    meta["model_config"]["backbone"]["latent_dim"] = 32
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="do not fit"):
        checkpoint.load(tmp_path / "m")
    (tmp_path / "junk.json").write_text("{not json")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(InputError, match="not valid"):
        checkpoint.load(tmp_path / "junk")
