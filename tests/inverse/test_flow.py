"""The flow-matching sampler: parameter encoding, canonical slots, determinism, that it learns a
conditional multi-modal distribution, checkpoints, and `inverse train-flow` with resume."""

import json

import pytest
import torch

from dataset_gen.generate import GenerateOptions, generate
from inverse import checkpoint
from inverse.cli import main
from inverse.flow import (
    FLOW_DIM,
    FlowConfig,
    FlowNet,
    canonical_slots,
    decode_params,
    encode_params,
    flow_loss,
    load_flow,
    save_flow,
)
from inverse.model import InverseModel
from synth.errors import InputError
from synth.params import CONTINUOUS_INDICES, PARAM_INDEX, canonicalize
from synth.prior import draw
from synth.symmetry import PERMUTATIONS, permute_slots


def test_encoding_round_trip():
    params = canonicalize(draw(3, 0, 16, prior="2"))
    x = encode_params(params)
    assert x.shape == (16, FLOW_DIM) and float(x.abs().max()) <= 1.0
    assert torch.allclose(decode_params(x), params, atol=1e-6)


def test_canonical_slots_ignore_the_given_order():
    params = draw(4, 0, 8, prior="1")
    canonical = canonical_slots(params)
    for order in PERMUTATIONS:
        assert torch.equal(canonical_slots(permute_slots(params, order)), canonical)
    levels = canonical[:, [PARAM_INDEX[f"osc{i}_level"] for i in (1, 2, 3)]]
    assert bool((levels[:, :-1] >= levels[:, 1:]).all())


def test_sampling_is_deterministic_per_seed():
    net = FlowNet(FlowConfig(latent_dim=8, hidden=32, blocks=1, steps=4)).eval()
    latent = torch.randn(8)
    a, b = net.sample(latent, 5, seed=1), net.sample(latent, 5, seed=1)
    assert torch.equal(a, b) and not torch.equal(a, net.sample(latent, 5, seed=2))
    assert a.shape == (5, 100) and float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_it_learns_two_modes_that_a_regressor_would_average():
    """Condition +1: every continuous parameter is 0.2 in some rows and 0.8 in others (two modes);
    condition -1: always 0.5. A regressor would answer 0.5 for +1 too; the flow's draws sit on the modes."""
    torch.manual_seed(0)
    rows = 512
    continuous = list(CONTINUOUS_INDICES)
    condition = torch.where(torch.arange(rows) % 2 == 0, 1.0, -1.0)[:, None].repeat(1, 4)
    modes = torch.where(torch.arange(rows) % 4 == 0, 0.2, 0.8)
    params = torch.full((rows, 100), 0.5)
    params[:, continuous] = torch.where(condition[:, :1] > 0, modes[:, None], torch.tensor(0.5)).expand(-1, 86)
    net = FlowNet(FlowConfig(latent_dim=4, hidden=128, blocks=2, steps=16, guidance=1.0, cfg_dropout=0.0))
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(0)
    x = encode_params(params)
    for _ in range(300):
        index = torch.randint(0, rows, (64,), generator=generator)
        loss = flow_loss(net, x[index], condition[index], generator, pair=False)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    plus = net.sample(torch.ones(4), 200, seed=0)[:, continuous[0]]
    minus = net.sample(-torch.ones(4), 200, seed=0)[:, continuous[0]]
    low, high = (plus - 0.2).abs() < 0.1, (plus - 0.8).abs() < 0.1
    assert float((low | high).float().mean()) > 0.9, plus  # the draws sit on the modes ...
    assert float(low.float().mean()) > 0.2 and float(high.float().mean()) > 0.2  # ... on both of them
    assert float(((minus - 0.5).abs() < 0.1).float().mean()) > 0.9


def test_checkpoint_round_trip_and_backbone_check(tmp_path):
    net = FlowNet(FlowConfig(latent_dim=8, hidden=32, blocks=1))
    (tmp_path / "a.safetensors").write_bytes(b"backbone a")
    (tmp_path / "b.safetensors").write_bytes(b"backbone b")
    from inverse.flow import file_sha256

    save_flow(net, tmp_path / "flow", backbone_sha256=file_sha256(tmp_path / "a.safetensors"), data={}, metrics={})
    loaded, info = load_flow(tmp_path / "flow", tmp_path / "a.safetensors")
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in net.state_dict().items())
    with pytest.raises(InputError, match="another backbone"):
        load_flow(tmp_path / "flow", tmp_path / "b.safetensors")
    with pytest.raises(InputError, match="expected a flow checkpoint"):
        load_flow(tmp_path / "missing")


@pytest.fixture(scope="module")
def tiny_run(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("flow")
    for name, seed, rows in (("train", 1, 6), ("val", 2, 3)):
        generate(GenerateOptions(num_rows=rows, out=folder / f"{name}.h5", seed=seed, batch_size=3), progress=False)
    torch.manual_seed(0)
    checkpoint.save(InverseModel(tiny), folder / "m")
    return folder


def test_train_flow_cli_resumes_and_predict_uses_it(tiny_run, capsys):
    base = ["train-flow", "--train", str(tiny_run / "train.h5"), "--val", str(tiny_run / "val.h5"), "--out",
            str(tiny_run / "run"), "--model", str(tiny_run / "m"), "--batch-size", "4", "--quiet"]
    assert main(base + ["--epochs", "2"]) == 0
    assert main(base + ["--epochs", "3", "--resume"]) == 0
    assert (tiny_run / "run" / "log.csv").read_text().count("\n") == 4  # header + 3 epochs
    assert main(base + ["--epochs", "3"]) == 2  # an existing run is not overwritten
    capsys.readouterr()
    png = tiny_run / "t.png"
    from synth import render
    from synth.image_io import write_png
    from synth.spectrogram import quantize, spectrogram

    write_png(png, quantize(spectrogram(render(draw(5, 0, 1)))[0]).numpy())
    assert main(["predict", str(png), "--model", str(tiny_run / "m"), "--flow", str(tiny_run / "run" / "best"),
                 "--samples", "2", "--pool", "4", "--expand", "1", "--refine", "none", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["candidates"]) == 2


def test_train_flow_init_starts_from_a_flow_of_the_same_backbone_only(tiny, tiny_run, capsys):
    def run(out: str, *extra: str, model: str = "m") -> int:
        return main(["train-flow", "--train", str(tiny_run / "train.h5"), "--val", str(tiny_run / "val.h5"), "--out",
                     str(tiny_run / out), "--model", str(tiny_run / model), "--batch-size", "4", "--quiet", *extra])

    assert run("first", "--epochs", "2") == 0
    assert run("tuned", "--epochs", "1", "--lr", "1e-9", "--init", str(tiny_run / "first" / "best")) == 0
    start, _ = load_flow(tiny_run / "first" / "best")
    tuned, _ = load_flow(tiny_run / "tuned" / "last")
    fresh = FlowNet(start.config)
    for name, value in start.state_dict().items():  # a step of 1e-9 from the starting weights, not a new network
        assert torch.allclose(tuned.state_dict()[name], value, atol=1e-6), name
    assert any(not torch.allclose(fresh.state_dict()[n], v, atol=1e-3) for n, v in start.state_dict().items())
    assert json.loads((tiny_run / "tuned" / "config.json").read_text())["init"] == str(tiny_run / "first" / "best")

    torch.manual_seed(1)
    checkpoint.save(InverseModel(tiny), tiny_run / "other")
    capsys.readouterr()
    assert run("refused", "--epochs", "1", "--init", str(tiny_run / "first" / "best"), model="other") == 2
    assert "another backbone" in capsys.readouterr().err
