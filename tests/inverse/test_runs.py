"""Run helpers shared by both trainers: the CSV log keeps its columns whatever the key order of a row."""

import csv
import math

import pytest

from inverse.runs import append_csv
from synth.errors import InputError


def test_csv_rows_follow_the_header_not_the_key_order(tmp_path):
    log = tmp_path / "log.csv"
    append_csv(log, {"epoch": 1, "a": 0.5, "b": 2.0})
    append_csv(log, {"b": 3.0, "epoch": 2, "a": 0.25})
    rows = list(csv.DictReader(log.open()))
    assert rows[1] == {"epoch": "2", "a": "0.25", "b": "3.0"}
    with pytest.raises(ValueError, match="differ"):
        append_csv(log, {"epoch": 3, "a": 1.0, "c": 1.0})


def _optimizer():
    import torch

    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.AdamW([weight], lr=0.1)
    weight.grad = torch.ones(3)
    optimizer.step()  # some state to save
    return optimizer


def test_training_run_keeps_best_and_last_and_resumes_where_it_stopped(tmp_path):
    """The skeleton every trainer shares: best by score (lower or, with maximize, higher), last always, state,
    log row per epoch; a new run refuses a used directory; --resume continues the epochs, best, steps and
    schedule."""
    from inverse.runs import TrainingRun

    saved: list[tuple[int, str]] = []
    run = TrainingRun(tmp_path / "run", resume=False, maximize=True)
    run.write_config({"train": {"epochs": 3}})
    run.restore({"model": _optimizer()})
    run.schedule(run.optimizers["model"], total_steps=30)
    for epoch, score in zip(run.epochs(3), (1.0, 0.5)):  # stops after two epochs, as an interrupted run
        run.step += 10
        run.end_epoch({"epoch": epoch + 1, "score": score}, score, lambda name, e=epoch: saved.append((e, name)))
    assert saved == [(0, "best"), (0, "last"), (1, "last")]
    assert [row["score"] for row in csv.DictReader((tmp_path / "run" / "log.csv").open())] == ["1.0", "0.5"]
    with pytest.raises(InputError, match="already holds a run; pass --resume"):
        TrainingRun(tmp_path / "run", resume=False)

    again = TrainingRun(tmp_path / "run", resume=True, maximize=True)
    assert again.saved == {"train": {"epochs": 3}}
    again.restore({"model": _optimizer()})
    assert (again.epoch, again.best, again.step) == (2, 1.0, 20)
    assert list(again.epochs(3)) == [2]
    schedule = again.schedule(again.optimizers["model"], total_steps=30)
    assert schedule.last_epoch == 20  # continues after the 20 steps taken
    assert schedule.get_last_lr()[0] == pytest.approx(0.1 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * 20 / 30))))
    assert again.end_epoch({"epoch": 3, "score": 2.0}, 2.0, lambda name: saved.append((2, name)))
    assert saved[-2:] == [(2, "best"), (2, "last")]
    with pytest.raises(InputError, match="nothing to resume"):
        TrainingRun(tmp_path / "empty", resume=True)
