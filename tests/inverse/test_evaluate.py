"""Metrics of returned candidates and `inverse eval` on a tiny dataset."""

import json

import pytest
import torch

from dataset_gen.generate import GenerateOptions, generate
from inverse import checkpoint
from inverse.cli import main
from inverse.metrics import candidate_metrics, diversity, param_errors
from inverse.model import InverseModel
from synth.params import CONTINUOUS_INDICES, DISCRETE_INDICES, canonicalize


def test_param_errors_and_diversity_by_hand():
    truth = canonicalize(torch.full((1, 100), 0.5))[0]
    assert param_errors(truth, truth) == {"param_mae": 0.0, "discrete_acc": 1.0}
    moved = truth.clone()
    moved[list(CONTINUOUS_INDICES)] += 0.1
    moved[DISCRETE_INDICES[0]] = 0.0 if float(truth[DISCRETE_INDICES[0]]) > 0.3 else 0.99
    errors = param_errors(moved, truth)
    assert errors["param_mae"] == pytest.approx(0.1, abs=1e-6)
    assert errors["discrete_acc"] == pytest.approx(1 - 1 / len(DISCRETE_INDICES))
    assert diversity(torch.stack([torch.zeros(100), torch.ones(100)])) == pytest.approx(1.0)


def test_candidate_metrics():
    params = torch.stack([torch.zeros(100), torch.full((100,), 0.5), torch.ones(100)])
    m = candidate_metrics(params, torch.tensor([2.0, 2.5, 4.0]), torch.tensor([1.0, 0.5, 3.0]),
                          truth=torch.full((100,), 0.5))
    assert m["best_match"] == 2.0 and m["median_match"] == 2.5
    assert m["best_mss"] == 0.5 and m["median_mss"] == 1.0 and "best_db" not in m
    assert m["within_1.5x_best"] == pytest.approx(2 / 3)
    assert m["best_sym_param_error"] == pytest.approx(0.5)  # of the best by match: the zeros
    assert m["diversity"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)


def test_cli_eval_prints_json(tiny, tmp_path, capsys):
    data = tmp_path / "test.h5"
    generate(GenerateOptions(num_rows=2, out=data, seed=11, batch_size=2), progress=False)
    torch.manual_seed(0)
    checkpoint.save(InverseModel(tiny), tmp_path / "m")
    code = main(["eval", "--model", str(tmp_path / "m"), "--data", str(data), "--targets", "2", "--pool", "4",
                 "--samples", "2", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["targets"] == 2
    for key in ("best_match", "best_mss", "best_db", "median_db", "diversity", "best_param_mae",
                "best_sym_param_error", "point_discrete_acc"):
        assert key in result["mean"]
    assert result["mean"]["best_match"] <= result["mean"]["median_match"]
