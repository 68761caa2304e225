"""``inverse train-flow``: train the flow-matching sampler (:mod:`inverse.flow`) on a frozen backbone's latents.

Cheap on a CPU by construction: the backbone runs once over the training (and validation) set and its pooled
latents are cached (``latents.safetensors`` in the run directory, keyed by the data fingerprints and the
backbone's SHA-256; a rerun or ``--resume`` reuses them), then the small flow network trains for many epochs
on the cache. Each epoch writes ``last`` (and ``best``, by validation flow loss) checkpoints, the optimizer
state and a ``log.csv`` row, so an interrupted run continues with ``--resume`` where it stopped.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from dataset_gen.reader import SpectrogramDataset
from inverse import checkpoint
from inverse.flow import (
    FlowConfig,
    FlowNet,
    canonical_slots,
    encode_params,
    file_sha256,
    flow_loss,
    load_flow,
    save_flow,
)
from inverse.runs import TrainingRun
from synth.errors import non_negative_int, positive_float, positive_int


@dataclass(frozen=True)
class FlowTrainConfig:
    epochs: int = 60  # passes over the cached latents (each is seconds on a CPU)
    batch_size: int = 256  # rows per step (also the minibatch of the optimal-transport pairing)
    lr: float = 1e-3  # AdamW peak learning rate, cosine decay to 5 %
    weight_decay: float = 1e-4
    seed: int = 0  # weights, noise and order
    encode_batch: int = 32  # spectrograms per backbone forward pass while caching

    def validate(self) -> None:
        positive_int.check(self.epochs, "epochs")
        positive_int.check(self.batch_size, "batch_size")
        positive_float.check(self.lr, "lr")
        non_negative_int.check(self.seed, "seed")


@torch.no_grad()
def encode_dataset(model, path: str | Path, batch: int, progress: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents ``Tensor[N, L]`` and canonical-slot parameters ``Tensor[N, 100]`` of every row of a dataset."""
    data = SpectrogramDataset(path, audio=False)
    latents, params = [], []
    for start in tqdm(range(0, len(data), batch), desc=f"encoding {Path(path).name}", unit="batch",
                      disable=not progress):
        specs, rows = data.__getitems__(range(start, min(start + batch, len(data)))).tensors  # (B, 1, 512, 512)
        latents.append(model.encode(specs))
        params.append(rows.clone())
    return torch.cat(latents), canonical_slots(torch.cat(params))


def cached_latents(model, model_path: Path, paths: dict[str, Path], out: Path, batch: int, progress: bool
                   ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{name: (latents, params)}`` for each dataset, from ``out/latents.safetensors`` when it was made from
    the same data and backbone, else encoded now and cached."""
    key = {"backbone_sha256": file_sha256(checkpoint.paths(model_path)[0]),
           **{name: SpectrogramDataset(path, audio=False).fingerprint for name, path in paths.items()}}
    cache, meta = out / "latents.safetensors", out / "latents.json"
    if cache.is_file() and meta.is_file() and json.loads(meta.read_text()) == key:
        tensors = load_file(str(cache))
        return {name: (tensors[f"{name}/latents"], tensors[f"{name}/params"]) for name in paths}
    encoded = {name: encode_dataset(model, path, batch, progress) for name, path in paths.items()}
    save_file({f"{name}/{kind}": value.contiguous() for name, (lat, par) in encoded.items()
               for kind, value in (("latents", lat), ("params", par))}, str(cache))
    meta.write_text(json.dumps(key, indent=2))
    return encoded


def _epoch_loss(net: FlowNet, latents: torch.Tensor, targets: torch.Tensor, batch: int, seed: int,
                optimizer: torch.optim.Optimizer | None = None, scheduler=None) -> float:
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(latents.shape[0], generator=generator) if optimizer else torch.arange(latents.shape[0])
    total, count = 0.0, 0
    for start in range(0, len(order), batch):
        index = order[start:start + batch]
        with torch.set_grad_enabled(optimizer is not None):
            loss = flow_loss(net, targets[index], latents[index], generator)
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
        total += float(loss.detach()) * len(index)
        count += len(index)
    return total / count


def train_flow(train_path: str | Path, val_path: str | Path, out_dir: str | Path, *, model_path: str | Path,
               flow_config: FlowConfig | None = None, config: FlowTrainConfig | None = None, resume: bool = False,
               init: str | Path | None = None, progress: bool = True) -> dict:
    """Train (or resume) the flow on ``model_path``'s backbone latents; returns the final epoch's metrics.

    ``init``: a flow checkpoint trained on the same backbone (e.g. the shipped ``inverse/pretrained/flow``) whose
    config and weights the run starts from (fine-tuning on more data); a flow of another backbone is refused.
    """
    config = config or FlowTrainConfig()
    config.validate()
    run = TrainingRun(out_dir, resume)
    out = run.out
    model, _ = checkpoint.load(model_path)
    start = None
    if init is not None and not run.resumed:
        start, _ = load_flow(init, backbone_weights=checkpoint.paths(model_path)[0])
        flow_config = start.config
    flow_config = flow_config or FlowConfig(latent_dim=model.config.backbone.latent_dim)
    if run.resumed:
        flow_config = FlowConfig.from_json(run.saved["flow"])
        config = FlowTrainConfig(**{**run.saved["train"], "epochs": config.epochs})
    run.write_config({"flow": asdict(flow_config), "train": asdict(config), "model": str(model_path),
                      "init": None if init is None else str(init)})
    data = cached_latents(model, Path(model_path), {"train": Path(train_path), "val": Path(val_path)}, out,
                          config.encode_batch, progress)
    (train_latents, train_params), (val_latents, val_params) = data["train"], data["val"]
    train_x, val_x = encode_params(train_params), encode_params(val_params)

    torch.manual_seed(config.seed)
    net = FlowNet(flow_config)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if run.resumed:
        net.load_state_dict(load_flow(out / "last")[0].state_dict())
    elif start is not None:
        net.load_state_dict(start.state_dict())
    run.restore({"flow": optimizer})
    steps_per_epoch = math.ceil(len(train_x) / config.batch_size)
    run.step = steps_per_epoch * run.epoch  # every epoch is one pass over the cache
    scheduler = run.schedule(optimizer, steps_per_epoch * config.epochs)
    backbone_sha = file_sha256(checkpoint.paths(model_path)[0])
    fingerprints = {"train": SpectrogramDataset(train_path, audio=False).fingerprint,
                    "val": SpectrogramDataset(val_path, audio=False).fingerprint}
    metrics: dict = {}
    bar = tqdm(run.epochs(config.epochs), desc="flow epochs", unit="epoch", disable=not progress)
    for epoch in bar:
        started = time.perf_counter()
        net.train()
        train_loss = _epoch_loss(net, train_latents, train_x, config.batch_size, config.seed + epoch, optimizer,
                                 scheduler)
        run.step += steps_per_epoch
        net.eval()
        val_loss = _epoch_loss(net, val_latents, val_x, config.batch_size, 12345)
        metrics = {"epoch": epoch + 1, "train/flow": round(train_loss, 5), "val/flow": round(val_loss, 5),
                   "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - started, 2)}

        def save(name: str, metrics: dict = metrics) -> None:
            save_flow(net, out / name, backbone_sha256=backbone_sha, data=fingerprints, metrics=metrics)

        run.end_epoch(metrics, val_loss, save)
        bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
    return metrics


CONFIG_FIELDS = tuple(f.name for f in fields(FlowTrainConfig))
