"""`inverse tune`: a 3-trial study writes a config `inverse train` accepts; two processes share one SQLite
study without losing trials; bad storage URLs and foreign studies are one clear line."""

import json
import os
import subprocess
import sys
from dataclasses import replace

import optuna
import pytest

from dataset_gen.generate import GenerateOptions, generate
from inverse.cli import main as inverse_main
from inverse.tune import TuneConfig, tune
from synth.errors import InputError
from synth.threads import torch_threads

TINY = TuneConfig(trials=3, epochs=1, eval_targets=1, eval_pool=2, eval_samples=2, num_workers=0, seed=0)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tune")
    generate(GenerateOptions(num_rows=6, out=folder / "train.h5", seed=31, batch_size=6), progress=False)
    generate(GenerateOptions(num_rows=2, out=folder / "val.h5", seed=32, batch_size=2), progress=False)
    return folder / "train.h5", folder / "val.h5"


def test_three_trials_write_a_config_train_accepts(data, tmp_path):
    train_path, val_path = data
    summary = tune(train_path, val_path, tmp_path / "tune", TINY, progress=False)
    assert summary["trials"] == 3 and summary["complete"] >= 1
    best = json.loads((tmp_path / "tune" / "best_config.json").read_text())
    assert set(best) >= {"model", "train", "sampling"} and best["value_db"] > 0
    for name in ("summary.txt", "summary.png", "tune.db"):
        assert (tmp_path / "tune" / name).stat().st_size > 0
    # 3 trials are too few for fANOVA's importances: said, not computed
    assert "needs 5+ completed trials" in (tmp_path / "tune" / "summary.txt").read_text() and not summary["importances"]
    # the written configuration trains as is (one step)
    best["train"].update(epochs=1, num_workers=0)
    (tmp_path / "cfg.json").write_text(json.dumps(best))
    code = inverse_main(["train", "--train", str(train_path), "--val", str(val_path), "--out", str(tmp_path / "run"),
                         "--config", str(tmp_path / "cfg.json"), "--device", "cpu"])
    assert code == 0 and (tmp_path / "run" / "best.safetensors").is_file()
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model"] == best["model"] and saved["train"]["lr"] == best["train"]["lr"]
    # rerunning with the same target count resumes: nothing left to do, nothing lost
    assert tune(train_path, val_path, tmp_path / "tune", TINY, progress=False)["trials"] == 3


def test_two_processes_share_one_sqlite_study(data, tmp_path):
    # another process through the command line, and this one (no second interpreter start-up) at the same time;
    # one torch thread each (two each on two cores made every trial ~1.7x slower); a fixed seed for the other
    # process (its default, the pid, drew a different width and batch, so a different run time, every time)
    train_path, val_path = data
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    command = [sys.executable, "-m", "inverse", "tune", "--train", str(train_path), "--val", str(val_path),
               "--trials", "2", "--epochs", "1", "--eval-targets", "1", "--eval-pool", "2", "--num-workers", "0",
               "--seed", "1", "--storage", storage, "--quiet", "--out", str(tmp_path / "other")]
    other = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        with torch_threads(1):
            tune(train_path, val_path, tmp_path / "this", replace(TINY, trials=2), storage=storage, progress=False)
    finally:
        _, err = other.communicate(timeout=600)
    assert other.returncode == 0, err
    trials = optuna.load_study(study_name="inverse", storage=storage).get_trials(deepcopy=False)
    states = [t.state for t in trials]
    assert len(trials) >= 2 and optuna.trial.TrialState.FAIL not in states
    assert optuna.trial.TrialState.RUNNING not in states, "every started trial was finished and recorded"
    assert sorted(t.number for t in trials) == list(range(len(trials)))


@pytest.mark.parametrize("storage, expected", [
    ("sqlite:////nonexistent-dir/x/tune.db", "cannot reach the study storage"),
    ("postgresql://nobody@127.0.0.1:1/db", "study storage"),
])
def test_bad_storage_is_one_line(data, tmp_path, storage, expected, capsys):
    train_path, val_path = data
    status = inverse_main(["tune", "--train", str(train_path), "--val", str(val_path), "--trials", "1",
                           "--out", str(tmp_path), "--storage", storage])
    err = capsys.readouterr().err
    assert status == 2 and expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_foreign_study_is_refused(data, tmp_path):
    train_path, val_path = data
    storage = f"sqlite:///{tmp_path / 'other.db'}"
    other = optuna.create_study(storage=storage, study_name="inverse")
    other.set_user_attr("space_id", "another-space")
    with pytest.raises(InputError, match="another search space"):
        tune(train_path, val_path, tmp_path / "t", TINY, storage=storage, progress=False)
    unrelated = optuna.create_study(storage=storage, study_name="someone-elses")
    unrelated.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(InputError, match="not made by `inverse tune`"):
        tune(train_path, val_path, tmp_path / "t", TINY, storage=storage, study_name="someone-elses",
             progress=False)
