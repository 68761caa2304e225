"""What every training run needs, whichever head it trains: the device, ``torchrun`` process groups, the
run directory's start/resume rule, the learning-rate schedule, optimizer state on disk for ``--resume``
(safetensors + JSON, never pickled), best/last checkpoints and the per-epoch CSV log.

:class:`TrainingRun` puts them together; ``inverse.train``, ``inverse.flow_train`` and ``specmask.train``
each keep their own plain loop over epochs and batches and hand every finished epoch to
:meth:`TrainingRun.end_epoch`.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from synth.errors import InputError

#: What a run that plans its length from its first epoch's time (``--minutes``) planned, kept for ``--resume``.
PLAN_FILE = "plan.json"


def fitting_epochs(minutes: float, seconds_per_epoch: float) -> int:
    """Whole epochs of ``seconds_per_epoch`` (as measured) that fit in ``minutes``: at least one."""
    return max(1, math.floor(minutes * 60 / max(seconds_per_epoch, 1e-9)))


def pick_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available (the process's local rank under torchrun), else CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError("--device cuda requested but no CUDA device is available")
        if device == "cuda":
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
    elif device != "cpu":
        raise InputError(f"unknown device {device!r}; expected auto, cpu or cuda")
    return torch.device(device)


def setup_distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world size); joins the process group when started by ``torchrun`` with several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def open_run(out: Path, resume: bool) -> dict | None:
    """The start/resume rule of every trainer: a new run refuses a directory that already holds one; a resumed
    run needs its saved state. Returns the saved ``config.json`` when resuming, else None."""
    if not resume and ((out / "last.json").exists() or (out / "state.json").exists()):
        raise InputError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if not resume:
        return None
    if not (out / "state.json").exists() or not (out / "config.json").exists():
        raise InputError(f"{out}: nothing to resume (no state.json)")
    return json.loads((out / "config.json").read_text())


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int | Callable[[], int], done_steps: int = 0,
                    floor: float = 0.05) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine decay of every learning rate from its peak to ``floor`` x peak over ``total_steps`` (or what the
    callable returns at each step: a run that plans its length after it started), continuing after ``done_steps``
    (a resumed run)."""
    total = total_steps if callable(total_steps) else (lambda: total_steps)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, total())))),
        last_epoch=done_steps - 1)


def save_state(out: Path, optimizers: dict[str, torch.optim.Optimizer], progress: dict) -> None:
    """Write ``state.safetensors`` (optimizer tensors) and ``state.json`` (param groups + ``progress``)
    atomically. ``optimizers`` names each optimizer (a GAN has two)."""
    tensors, groups = {}, {}
    for name, optimizer in optimizers.items():
        state = optimizer.state_dict()
        groups[name] = state["param_groups"]
        tensors.update({f"{name}/{i}.{k}": v.detach().cpu().contiguous()
                        for i, s in state["state"].items() for k, v in s.items()})
    save_file(tensors, str(out / "state.safetensors.tmp"))
    (out / "state.json.tmp").write_text(json.dumps({"optimizers": groups, **progress}, indent=2))
    (out / "state.safetensors.tmp").replace(out / "state.safetensors")
    (out / "state.json.tmp").replace(out / "state.json")


def load_state(out: Path, optimizers: dict[str, torch.optim.Optimizer]) -> dict:
    """Restore the optimizers saved by :func:`save_state`; returns the progress dict."""
    info = json.loads((out / "state.json").read_text())
    if set(info.get("optimizers", {})) != set(optimizers):
        raise InputError(f"{out}/state.json: saved optimizers {sorted(info.get('optimizers', {}))}, this run "
                         f"needs {sorted(optimizers)}; it was written by another trainer or version")
    states: dict[str, dict[int, dict]] = {name: {} for name in optimizers}
    for key, value in load_file(str(out / "state.safetensors")).items():
        name, rest = key.split("/", 1)
        index, field = rest.split(".", 1)
        states[name].setdefault(int(index), {})[field] = value
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict({"state": states[name], "param_groups": info["optimizers"][name]})
    return info


def append_csv(path: Path, row: dict) -> None:
    """Append one row to a CSV log, writing the header when the file is new. Values go under the existing
    header's columns whatever the row's key order; a row with other keys is a ``ValueError``."""
    header = None
    if path.exists():
        with path.open(newline="") as handle:
            header = next(csv.reader(handle), None)
    if header is not None and set(header) != set(row):
        raise ValueError(f"{path}: row keys {sorted(set(row) ^ set(header))} differ from the log's columns")
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header or list(row))
        if header is None:
            writer.writeheader()
        writer.writerow(row)


class TrainingRun:
    """One training run: where it runs and where it writes, what it resumes, and the end of every epoch.

    >>> run = TrainingRun(out_dir, resume, device="auto")          # device, torchrun group, start/resume rule
    >>> run.write_config({...})                                     # config.json of a new run (rank 0)
    >>> run.restore({"model": optimizer})                           # a resumed run's optimizer state and progress
    >>> schedule = run.schedule(optimizer, total_steps)
    >>> for epoch in run.epochs(config.epochs): ...; run.step += 1 per optimizer step
    ...     run.end_epoch(metrics, metrics["val/loss"], save=lambda name: checkpoint.save(model, run.out / name))
    >>> run.close()

    ``saved`` is the resumed run's ``config.json`` (None for a new run); ``maximize`` says whether a higher
    ``score`` is better when picking the ``best`` checkpoint.
    """

    def __init__(self, out_dir: str | Path, resume: bool, device: str = "cpu", maximize: bool = False):
        self.device = pick_device(device)
        self.rank, self.world = setup_distributed(self.device)
        self.out = Path(out_dir)
        self.saved = open_run(self.out, resume)
        if self.main:
            self.out.mkdir(parents=True, exist_ok=True)
        self.maximize = maximize
        self.best = -math.inf if maximize else math.inf
        self.epoch = 0  # epochs finished
        self.step = 0  # optimizer steps taken
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes."""
        return self.rank == 0

    @property
    def resumed(self) -> bool:
        return self.saved is not None

    def write_config(self, config: dict) -> None:
        """``config.json`` of a new run (a resumed run keeps its own)."""
        if self.main and not self.resumed:
            (self.out / "config.json").write_text(json.dumps(config, indent=2))

    def restore(self, optimizers: dict[str, torch.optim.Optimizer]) -> None:
        """Remember the run's optimizers (saved at each epoch's end); a resumed run loads their state and its
        progress (epochs finished, best score, steps)."""
        self.optimizers = optimizers
        if self.resumed:
            info = load_state(self.out, optimizers)
            self.epoch, self.best, self.step = info["epoch"], info["best"], info.get("step", 0)

    def schedule(self, optimizer: torch.optim.Optimizer, total_steps: int | Callable[[], int]
                 ) -> torch.optim.lr_scheduler.LambdaLR:
        """:func:`cosine_schedule` over ``total_steps`` (or what the callable returns: a run that plans its length
        after it started), continuing after the steps already taken."""
        return cosine_schedule(optimizer, total_steps, self.step)

    def plan(self) -> dict | None:
        """What :meth:`save_plan` wrote into the run directory (a ``--minutes`` run's length), or None."""
        path = self.out / PLAN_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def save_plan(self, plan: dict) -> None:
        """Keep a ``--minutes`` run's plan (its length and the pace it was planned from) for ``--resume``."""
        if self.main:
            (self.out / PLAN_FILE).write_text(json.dumps(plan, indent=2))

    def epochs(self, total: int) -> range:
        """The epochs still to run (0-based)."""
        return range(self.epoch, total)

    def end_epoch(self, metrics: dict, score: float, save: Callable[[str], None]) -> bool:
        """After an epoch: on rank 0, ``save("best")`` when ``score`` beats the best so far, ``save("last")``,
        the optimizer state and progress (for ``--resume``), and a ``log.csv`` row; then every rank waits for
        rank 0. Returns whether this epoch is the new best."""
        self.epoch += 1
        improved = False
        if self.main:  # only rank 0 evaluates: the other ranks pass no metrics
            improved = score > self.best if self.maximize else score < self.best
            if improved:
                self.best = score
                save("best")
            save("last")
            save_state(self.out, self.optimizers, {"epoch": self.epoch, "best": self.best, "step": self.step})
            append_csv(self.out / "log.csv", metrics)
        if self.world > 1:
            dist.barrier()
        return improved

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()
