"""Training the inverse model: a plain loop, DistributedDataParallel under ``torchrun``.

``train(...)`` writes into ``out_dir``: ``best.{safetensors,json}`` (lowest validation loss),
``last.{safetensors,json}``, ``state.{safetensors,json}`` (optimizer and progress, for ``--resume``),
``config.json`` and ``log.csv`` (one row per epoch). Nothing is lost when a run is interrupted: the
last finished epoch is on disk and ``--resume`` continues from it with the same data order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from dataset_gen.reader import SpectrogramDataset, collate, train_val_split
from inverse import checkpoint
from inverse.config import ModelConfig
from inverse.model import InverseModel, latent_spread
from inverse.runs import TrainingRun
from inverse.spectral_loss import spectral_loss
from synth.errors import (
    InputError,
    NumberRule,
    any_integer,
    json_kind,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from synth.spectrogram import dequantize


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20  # passes over the training rows
    batch_size: int = 64  # per process
    lr: float = 1e-3  # AdamW peak learning rate (cosine decay to 5 % over the run)
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    ce_weight: float = 0.2  # weight of the discrete cross-entropy beside the continuous L1
    val_fraction: float = 0.05  # held out from --train when no --val file is given
    seed: int = 0  # model init, data order and the train/validation split
    num_workers: int = 2  # DataLoader worker processes
    grad_clip: float = 1.0  # max gradient norm
    scale_rows: int = 256  # training rows used to measure the latent spread for sampling
    spectral_weight: float = 0.0  # weight of the spectral loss (dB) rendered through the synth; 0 = off
    spectral_rows: int = 8  # rows per batch rendered for the spectral loss (it costs a render + backward each)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Every field against its rule (:data:`TRAIN_RULES`, the same the command-line options use); the
        first bad one is an :class:`InputError` naming it."""
        for name, rule in TRAIN_RULES.items():
            rule.check(getattr(self, name), name)

    @classmethod
    def from_json(cls, data: dict) -> TrainConfig:
        if not isinstance(data, dict):
            raise InputError(f"expected an object of training options, got {json_kind(data)}")
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InputError(f"unknown training options: {', '.join(sorted(unknown))}")
        return cls(**data)


TRAIN_RULES: dict[str, NumberRule] = {
    "epochs": positive_int, "batch_size": positive_int, "lr": positive_float, "weight_decay": non_negative_float,
    "ce_weight": non_negative_float, "seed": any_integer, "num_workers": non_negative_int,
    "val_fraction": NumberRule("a fraction between 0 and 1 (both excluded)", minimum=0.0, maximum=1.0,
                               above_minimum=True, below_maximum=True),
    "grad_clip": positive_float, "scale_rows": positive_int, "spectral_weight": non_negative_float,
    "spectral_rows": positive_int,
}


_PART_NAMES = {"param/l1": "l1", "param/ce": "ce", "spectral/db": "spectral_db"}  # loss part -> log column


def _accumulate(sums: dict[str, float], prefix: str, parts: dict[str, torch.Tensor], rows: int) -> None:
    """Add each loss part, weighted by the batch's rows, into ``sums["<prefix>/<column>"]``."""
    for key, value in parts.items():
        column = f"{prefix}/{_PART_NAMES[key]}"
        sums[column] = sums.get(column, 0.0) + float(value.detach()) * rows


def _loss(raw: torch.Tensor, params: torch.Tensor, spec: torch.Tensor, head, config: TrainConfig
          ) -> tuple[torch.Tensor, dict]:
    """Total loss and its parts for raw head outputs, normalised targets and normalised spectrograms."""
    parts = head.loss(raw, params)
    total = parts["param/l1"] + config.ce_weight * parts["param/ce"]
    if config.spectral_weight > 0:
        rows = slice(0, config.spectral_rows)
        parts["spectral/db"] = spectral_loss(head.to_params(raw[rows]), spec[rows])
        total = total + config.spectral_weight * parts["spectral/db"]
    return total, parts


@torch.no_grad()
def evaluate(model: InverseModel, loader: DataLoader, device: torch.device, config: TrainConfig) -> dict[str, float]:
    """Mean losses, parameter MAE (continuous) and discrete accuracy over ``loader`` (uint8 spectrograms)."""
    model.eval()
    totals, count = {"val/loss": 0.0, "val/discrete_acc": 0.0}, 0
    for spec, params in loader:
        spec, params = dequantize(spec.to(device)), params.to(device)
        raw, _ = model(spec)
        loss, parts = _loss(raw, params, spec, model.head, config)
        correct = model.head.discrete_correct(raw, params)
        n = spec.shape[0]
        totals["val/loss"] += float(loss) * n
        _accumulate(totals, "val", parts, n)
        totals["val/discrete_acc"] += float(correct.sum())
        count += n
    return {k: v / max(count, 1) for k, v in totals.items()}


@torch.no_grad()
def latent_scale(model: InverseModel, dataset, rows: int, device: torch.device) -> torch.Tensor:
    """Per-dimension standard deviation of the latent over the first ``rows`` items of ``dataset``."""
    model.eval()
    subset = Subset(dataset, range(min(rows, len(dataset))))
    loader = DataLoader(subset, batch_size=32, collate_fn=collate)
    latents = [model.encode(dequantize(spec.to(device))) for spec, _ in loader]
    return latent_spread(torch.cat(latents))


def train(train_path: str | Path, out_dir: str | Path, *, val_path: str | Path | None = None,
          model_config: ModelConfig | None = None, config: TrainConfig | None = None, device: str = "auto",
          resume: bool = False, progress: bool = True, max_steps: int | None = None,
          on_epoch: Callable[[dict], None] | None = None, init: str | Path | None = None) -> dict:
    """Train (or resume) and return the final epoch's metrics. ``max_steps`` stops early (tests).

    ``on_epoch(metrics)`` is called on rank 0 after each epoch is on disk (``inverse tune`` reports to
    optuna there, and may raise to stop a pruned run). ``init``: a model checkpoint whose weights and config a new
    run starts from (fine-tuning, e.g. the shipped model on other data) instead of ``model_config``'s fresh weights.
    """
    config = config or TrainConfig()
    run = TrainingRun(out_dir, resume, device)
    device, out = run.device, run.out
    start = checkpoint.load(init)[0] if init is not None and not run.resumed else None
    model_config = start.config if start is not None else model_config or ModelConfig()
    if run.resumed:
        model_config = ModelConfig.from_json(run.saved["model"])
        config = TrainConfig.from_json({**run.saved["train"], "epochs": config.epochs})

    # uint8 items: 4x less to move from the loader workers; dequantized where the model runs.
    data = SpectrogramDataset(train_path, audio=False, as_uint8=True)
    if val_path is not None:
        train_set, val_set = data, SpectrogramDataset(val_path, audio=False, as_uint8=True)
    else:
        train_set, val_set = train_val_split(data, config.val_fraction, config.seed)
    if len(train_set) == 0 or len(val_set) == 0:
        raise InputError("need at least one training and one validation row")

    torch.manual_seed(config.seed)
    model = InverseModel(model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if run.resumed:
        model.load_state_dict(checkpoint.load(out / "last", device)[0].state_dict())
    elif start is not None:
        model.load_state_dict(start.state_dict())
    run.restore({"model": optimizer})
    run.write_config({"model": model_config.to_json(), "train": asdict(config), "train_data": str(train_path),
                      "val_data": str(val_path) if val_path else None, "init": None if init is None else str(init)})

    world, rank = run.world, run.rank
    net = DistributedDataParallel(model) if world > 1 else model
    sampler = DistributedSampler(train_set, world, rank, shuffle=True, seed=config.seed) if world > 1 else None
    generator = torch.Generator().manual_seed(config.seed)
    loader = DataLoader(train_set, batch_size=config.batch_size, shuffle=sampler is None, sampler=sampler,
                        generator=generator, num_workers=config.num_workers, collate_fn=collate,
                        persistent_workers=config.num_workers > 0, drop_last=len(train_set) > config.batch_size)
    val_loader = DataLoader(val_set, batch_size=config.batch_size, num_workers=0, collate_fn=collate)
    schedule = run.schedule(optimizer, max(1, len(loader)) * config.epochs)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    fingerprint = {"train": _fingerprint(data), "val": _fingerprint(val_set) if val_path else "split",
                   "train_rows": len(train_set), "val_rows": len(val_set)}
    metrics: dict[str, float] = {}

    for epoch in run.epochs(config.epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        generator.manual_seed(config.seed + epoch)  # same order whether or not the run was resumed
        model.train()
        started, seen, sums = time.perf_counter(), 0, {"train/loss": 0.0}
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress or not run.main,
                   unit="batch", leave=False)
        for spec, params in bar:
            spec, params = dequantize(spec.to(device, non_blocking=True)), params.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                raw, _ = net(spec)
            loss, parts = _loss(raw.float(), params, spec, model.head, config)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            run.step += 1
            n = spec.shape[0]
            seen += n
            sums["train/loss"] += float(loss.detach()) * n
            _accumulate(sums, "train", parts, n)
            bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            if max_steps is not None and run.step >= max_steps:
                break
        metrics = {}
        if run.main:
            metrics = {"epoch": epoch + 1, "step": run.step, "time_s": round(time.perf_counter() - started, 2),
                       "lr": schedule.get_last_lr()[0], **{k: v / max(seen, 1) for k, v in sums.items()},
                       **evaluate(model, val_loader, device, config)}
            model.latent_scale.copy_(latent_scale(model, train_set, config.scale_rows, device))

        def save(name: str, metrics: dict = metrics) -> None:
            checkpoint.save(model, out / name, data_fingerprint=fingerprint, metrics=metrics)

        run.end_epoch(metrics, metrics.get("val/loss", math.nan), save)
        if run.main:
            if on_epoch is not None:
                on_epoch(metrics)
            if progress:
                tqdm.write(f"epoch {epoch + 1}: train {metrics['train/loss']:.4f}  val {metrics['val/loss']:.4f}  "
                           f"discrete acc {metrics['val/discrete_acc']:.3f}  ({metrics['time_s']:.0f} s)")
        if max_steps is not None and run.step >= max_steps:
            break
    run.close()
    return metrics


def _fingerprint(data: SpectrogramDataset) -> dict:
    """Identify a dataset without hashing gigabytes: the hash of its definition and row range (equal for a
    merged file and a single run of the same rows), seed, sampler, prior version (:mod:`synth.prior`) and rows."""
    return {"path": str(data.path), "fingerprint": data.fingerprint, "seed": data.attrs.seed,
            "sampler": data.attrs.sampler, "prior": data.attrs.prior, "rows": len(data)}

