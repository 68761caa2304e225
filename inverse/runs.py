"""What every training run needs, whichever head it trains: the device, ``torchrun`` process groups, the
run directory's start/resume rule, the learning-rate schedule, optimizer state on disk for ``--resume``
(safetensors + JSON, never pickled) and the per-epoch CSV log.

Used by ``inverse.train``, ``inverse.flow_train`` and ``specmask.train``.
"""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from synth.errors import InputError


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
    if not resume and (out / "last.json").exists():
        raise InputError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if not resume:
        return None
    if not (out / "state.json").exists() or not (out / "config.json").exists():
        raise InputError(f"{out}: nothing to resume (no state.json)")
    return json.loads((out / "config.json").read_text())


def cosine_schedule(optimizer: torch.optim.Optimizer, total_steps: int, done_steps: int = 0,
                    floor: float = 0.05) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine decay of every learning rate from its peak to ``floor`` x peak over ``total_steps``, continuing
    after ``done_steps`` (a resumed run)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, total_steps)))),
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
