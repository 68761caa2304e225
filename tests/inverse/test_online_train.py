"""`inverse train-online`: it trains on dataset_gen's own rows, writes model + flow checkpoints that predict
loads together, resumes to the same weights as an uninterrupted run, plans its length from a time budget, and
refuses bad options with one line."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from dataset_gen.generate import GenerateOptions, generate
from dataset_gen.reader import SpectrogramDataset
from dataset_gen.rendering import ExampleRenderer
from inverse import checkpoint
from inverse.cli import main
from inverse.flow import FlowConfig, file_sha256, load_flow
from inverse.online_train import OnlineTrainConfig, planned_steps, train_online
from inverse.predict import Predictor
from synth.errors import InputError
from synth.spectrogram import DEFAULT_CONFIG

FLOW = FlowConfig(latent_dim=16, hidden=32, blocks=1, steps=4)


def small(**changes) -> OnlineTrainConfig:
    base = dict(steps=4, steps_per_epoch=2, batch_size=2, val_rows=2, scale_rows=2, data_seed=11, val_seed=12)
    return OnlineTrainConfig(**{**base, **changes})


def test_the_rows_it_trains_on_are_the_rows_dataset_gen_stores(tmp_path):
    path = tmp_path / "rows.h5"
    generate(GenerateOptions(num_rows=3, out=path, seed=11, prior="2", render="eager"), progress=False)
    stored = SpectrogramDataset(path, audio=False, as_uint8=True)
    params, spectrograms, audio = ExampleRenderer(11, "uniform", DEFAULT_CONFIG, prior="2").render_tensors(1, 2)
    assert spectrograms.dtype == torch.uint8 and audio.shape == (2, DEFAULT_CONFIG.num_samples)
    for k in range(2):
        spec, row_params = stored[1 + k]
        assert torch.equal(spectrograms[k], spec[0]) and torch.equal(params[k], row_params)


def test_it_writes_a_model_and_its_flow_that_predict_uses(tmp_path, tiny):
    metrics = train_online(tmp_path / "run", model_config=tiny, flow_config=FLOW, config=small(), device="cpu",
                           progress=False)
    assert metrics["step"] == 4 and metrics["rows_seen"] == 8 and np.isfinite(metrics["val/flow"])
    out = tmp_path / "run"
    log = (out / "log.csv").read_text().splitlines()
    assert len(log) == 3 and "val/flow" in log[0]
    info = json.loads((out / "best.json").read_text())
    assert info["data"]["train"].pop("render_path") in ("fast", "eager")  # fast where this machine built it
    assert info["data"]["train"] == {"online": True, "seed": 11, "sampler": "uniform", "prior": "2", "rows": 8}
    assert info["data"]["train_rows"] == 8 and info["data"]["val_rows"] == 2
    load_flow(out / "best_flow", out / "best.safetensors")  # tied to that backbone: loads without complaint
    predictor = Predictor.from_checkpoint(out / "best", device="cpu", flow=out / "best_flow", index=None)
    assert predictor.flow is not None
    assert float(load_file(str(out / "best.safetensors"))["latent_scale"].std()) > 0  # measured, not the ones


def test_resuming_takes_exactly_the_steps_it_would_have_taken(tmp_path, tiny, monkeypatch):
    """Interrupt a 4-step run after its first epoch (2 steps) and resume it: the same weights, bit for bit."""
    train_online(tmp_path / "whole", model_config=tiny, flow_config=FLOW, config=small(), device="cpu",
                 progress=False)

    import inverse.online_train as online

    calls = {"n": 0}
    real = online.TrainingRun.end_epoch

    def end_epoch_then_stop(self, *args, **kwargs):
        real(self, *args, **kwargs)
        calls["n"] += 1
        raise KeyboardInterrupt  # the run stops after its first epoch is on disk

    monkeypatch.setattr(online.TrainingRun, "end_epoch", end_epoch_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train_online(tmp_path / "parts", model_config=tiny, flow_config=FLOW, config=small(), device="cpu",
                     progress=False)
    monkeypatch.setattr(online.TrainingRun, "end_epoch", real)
    train_online(tmp_path / "parts", config=small(), device="cpu", resume=True, progress=False)
    whole, parts = (load_file(str(tmp_path / name / "last.safetensors")) for name in ("whole", "parts"))
    assert calls["n"] == 1 and all(torch.equal(whole[k], parts[k]) for k in whole)
    whole_flow, parts_flow = (load_file(str(tmp_path / name / "last_flow.safetensors")) for name in ("whole", "parts"))
    assert all(torch.equal(whole_flow[k], parts_flow[k]) for k in whole_flow)


def test_a_time_budget_sets_whole_epochs_of_steps():
    config = OnlineTrainConfig(minutes=1.0, steps_per_epoch=10, steps=1000)
    assert planned_steps(config, 0.1) == 600  # 60 s / 0.1 s = 600 steps, 60 epochs
    assert planned_steps(config, 0.07) == 850  # 857 steps -> 85 whole epochs
    assert planned_steps(config, 0.01) == 1000  # never beyond --steps
    assert planned_steps(config, 100.0) == 10  # at least one epoch


def test_a_planned_run_records_its_plan(tmp_path, tiny):
    train_online(tmp_path / "run", model_config=tiny, flow_config=FLOW, config=small(steps=100, minutes=1e-6),
                 device="cpu", progress=False)
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert plan["steps"] == 2 and plan["seconds_per_step"] > 0  # one epoch: the budget is spent by then


@pytest.mark.parametrize("args, expected", [
    (["--data-seed", "2", "--val-seed", "2"], "validation rows would be trained on"),
    (["--prior", "9"], "unknown prior"),
    (["--device", "tpu"], "unknown device"),
    (["--init-flow", "inverse/pretrained/flow"], "--init-flow needs --init"),
    (["--init", "inverse/pretrained/default", "--widths", "8", "16"], "leave out --widths"),
])
def test_bad_options_are_one_line(tmp_path, capsys, args, expected):
    code = main(["train-online", "--out", str(tmp_path / "run"), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and expected in err and "Traceback" not in err


def test_init_continues_a_model_and_its_flow_and_refuses_a_flow_of_another_backbone(tmp_path, tiny, capsys):
    first = tmp_path / "first"
    train_online(first, model_config=tiny, flow_config=FLOW, config=small(), device="cpu", progress=False)
    capsys.readouterr()
    train_online(tmp_path / "more", config=small(steps=2, lr=1e-9, data_seed=13), device="cpu", progress=False,
                 init=first / "best", init_flow=first / "best_flow")
    assert "seed" not in capsys.readouterr().err  # rows of a seed the start has not seen: nothing to say
    start, _ = load_flow(first / "best_flow")
    more, _ = load_flow(tmp_path / "more" / "last_flow", tmp_path / "more" / "last.safetensors")
    assert more.config == start.config
    for name, value in start.state_dict().items():  # two steps of 1e-9 from those weights, not a new network
        assert torch.allclose(more.state_dict()[name], value, atol=1e-6), name
    model = load_file(str(tmp_path / "more" / "last.safetensors"))
    for name, value in load_file(str(first / "best.safetensors")).items():
        if name != "latent_scale":  # measured again on the new rows
            assert torch.allclose(model[name], value, atol=1e-6), name
    config = json.loads((tmp_path / "more" / "config.json").read_text())
    first_info = json.loads((first / "best.json").read_text())
    lineage = {"model": str(first / "best"), "model_sha256": file_sha256(first / "best.safetensors"),
               "model_data": first_info["data"],  # the rows the start had seen: the continued model's too
               "flow": str(first / "best_flow"), "flow_sha256": file_sha256(first / "best_flow.safetensors")}
    assert config["init"] == lineage
    assert json.loads((tmp_path / "more" / "last.json").read_text())["data"]["init"] == lineage
    assert first_info["data"]["init"] is None  # fresh weights
    more_data = json.loads((tmp_path / "more" / "last.json").read_text())["data"]
    seen = first_info["data"]["train"]["seed"]
    assert checkpoint.training_seeds(more_data) == [13, seen]
    assert checkpoint.training_seeds(first_info["data"]) == [seen]
    # continuing on rows the start has learned from is allowed, and said
    train_online(tmp_path / "again", config=small(steps=1, lr=1e-9, data_seed=seen, val_seed=13), device="cpu",
                 progress=False, init=tmp_path / "more" / "last", init_flow=tmp_path / "more" / "last_flow")
    err = capsys.readouterr().err
    assert (f"note: training rows of seed {seen}: the starting model has learned from rows of seed(s) 13, {seen}; a "
            "seed it has not seen (e.g. 14) gives it new rows") in err
    assert "note: validation rows of seed 13: " in err and "(e.g. 14) keeps the validation held out" in err

    other = tmp_path / "other"
    train_online(other, model_config=tiny, flow_config=FLOW, config=small(steps=2, seed=1), device="cpu",
                 progress=False)
    with pytest.raises(InputError, match="another backbone"):
        train_online(tmp_path / "refused", config=small(), device="cpu", progress=False, init=other / "best",
                     init_flow=first / "best_flow")


def test_export_halves_the_pair_and_keeps_it_together(tmp_path, tiny, capsys):
    """`inverse export`: float16 weights (about half the bytes), the flow tied to the exported model, and
    predictions from the exported pair close to the run's own (float16 rounding only)."""
    from inverse import checkpoint
    from synth.spectrogram import spectrogram

    run = tmp_path / "run"
    train_online(run, model_config=tiny, flow_config=FLOW, config=small(), device="cpu", progress=False)
    capsys.readouterr()
    assert main(["export", "--model", str(run / "best"), "--flow", str(run / "best_flow"),
                 "--out", str(tmp_path / "ship" / "default"), "--flow-out", str(tmp_path / "ship" / "flow")]) == 0
    result = json.loads(capsys.readouterr().out)
    before = sum((run / f"best{s}").stat().st_size for s in ("_flow.safetensors", ".safetensors"))
    after = sum((tmp_path / "ship" / f).stat().st_size for f in ("flow.safetensors", "default.safetensors"))
    assert after < 0.6 * before and result["bytes"] > after
    shipped = Predictor.from_checkpoint(tmp_path / "ship" / "default", flow=tmp_path / "ship" / "flow", index=None)
    original, _ = checkpoint.load(run / "best")
    spec = spectrogram(torch.zeros(1, DEFAULT_CONFIG.num_samples))[:, None]
    a, b = original.encode(spec), shipped.model.encode(spec)
    assert torch.allclose(a, b, atol=5e-2) and not torch.equal(a, b)
    assert load_file(str(tmp_path / "ship" / "default.safetensors"))["latent_scale"].dtype == torch.float32
    with pytest.raises(Exception, match="another backbone"):  # the run's flow does not fit the exported model
        load_flow(run / "best_flow", tmp_path / "ship" / "default.safetensors")


def test_export_can_set_the_flows_guidance(tmp_path, tiny, capsys):
    run = tmp_path / "run"
    train_online(run, model_config=tiny, flow_config=FLOW, config=small(steps=2), device="cpu", progress=False)
    assert main(["export", "--model", str(run / "best"), "--flow", str(run / "best_flow"), "--full",
                 "--out", str(tmp_path / "ship" / "m"), "--guidance", "1"]) == 0
    net, info = load_flow(tmp_path / "ship" / "m_flow", tmp_path / "ship" / "m.safetensors")
    assert net.config.guidance == 1.0 and info["flow_config"]["guidance"] == 1.0 and FLOW.guidance != 1.0
    assert load_file(str(tmp_path / "ship" / "m.safetensors"))["head.net.0.weight"].dtype == torch.float32
