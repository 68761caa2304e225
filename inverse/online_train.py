"""``inverse train-online``: the backbone, its regression head and the flow sampler trained together on examples
rendered on the fly, with no dataset file (a GPU's way to train: the synth renders a fresh batch in the time the
network takes to learn from it, so no example is seen twice).

Why jointly: the regression head alone learns the *mean* of the parameter sets that give one sound (issue 13),
and a backbone trained only for that head gives latents that say little about the modes. The flow loss
(:func:`inverse.flow.flow_loss`) is back-propagated into the backbone too, so its latent learns what the flow
needs to place every mode. The head is kept: it is the latent sampler's decoder and the flow pool's row 0.

Data: step ``s`` trains on rows ``s * batch .. (s + 1) * batch - 1`` of the prior ``(data_seed, sampler, prior)``
rendered by :class:`dataset_gen.rendering.ExampleRenderer` (the same rows, bytes and 8-bit spectrograms that
``python -m dataset_gen --seed data_seed`` would store), so a resumed run continues with the rows it had not
seen. Validation: the first ``val_rows`` rows of ``val_seed``, rendered once.

An "epoch" is ``steps_per_epoch`` steps, after which :class:`inverse.runs.TrainingRun` validates and writes
``best``/``last`` model checkpoints, their flows (``best_flow``/``last_flow``, tied to that backbone's SHA-256),
the optimizer state and a ``log.csv`` row. With ``minutes`` the run plans its own length: it times its first epoch
(its validation and checkpoints included) and sets the total steps (whole epochs, at most ``steps``) to end near
that budget; the plan is kept in ``plan.json`` so ``--resume`` follows the same learning-rate schedule.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from tqdm import tqdm

from dataset_gen.rendering import ExampleRenderer
from inverse import checkpoint
from inverse.config import ModelConfig
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
from inverse.model import InverseModel, latent_spread
from inverse.runs import TrainingRun, cosine_schedule, fitting_epochs
from synth.errors import InputError, non_negative_float, non_negative_int, note, positive_float, positive_int
from synth.prior import LATEST_PRIOR, PRIOR_VERSIONS, SAMPLERS
from synth.spectrogram import DEFAULT_CONFIG, dequantize


@dataclass(frozen=True)
class OnlineTrainConfig:
    steps: int = 20000  # optimizer steps in all (with minutes: at most this many)
    steps_per_epoch: int = 500  # steps between validations, checkpoints and log rows
    minutes: float = 0.0  # > 0: plan the total steps from the first epoch's speed to train about this long
    batch_size: int = 256  # rows rendered and learned per step
    lr: float = 1e-3  # AdamW peak learning rate, cosine decay to 5 %
    weight_decay: float = 1e-4
    ce_weight: float = 0.2  # discrete cross-entropy beside the continuous L1 (as inverse train)
    flow_weight: float = 1.0  # the flow-matching loss, back-propagated into the backbone
    grad_clip: float = 1.0
    seed: int = 0  # weights and the flow's noise
    data_seed: int = 11  # prior seed of the training rows (keep it apart from validation and test seeds)
    val_seed: int = 2  # prior seed of the validation rows
    val_rows: int = 1000
    sampler: str = "uniform"
    prior: str = LATEST_PRIOR
    scale_rows: int = 256  # training rows that measure the latent spread for latent sampling

    def validate(self) -> None:
        for name in ("steps", "steps_per_epoch", "batch_size", "val_rows", "scale_rows"):
            positive_int.check(getattr(self, name), name)
        for name in ("minutes", "weight_decay", "ce_weight", "flow_weight"):
            non_negative_float.check(getattr(self, name), name)
        for name in ("lr", "grad_clip"):
            positive_float.check(getattr(self, name), name)
        for name in ("seed", "data_seed", "val_seed"):
            non_negative_int.check(getattr(self, name), name)
        if self.data_seed == self.val_seed:
            raise InputError(f"data_seed and val_seed are both {self.data_seed}: validation rows would be trained on")
        if self.sampler not in SAMPLERS:
            raise InputError(f"unknown sampler {self.sampler!r}; expected one of {', '.join(SAMPLERS)}")
        if self.prior not in PRIOR_VERSIONS:
            raise InputError(f"unknown prior {self.prior!r}; expected one of {', '.join(PRIOR_VERSIONS)}")


CONFIG_FIELDS = tuple(f.name for f in fields(OnlineTrainConfig))


def planned_steps(config: OnlineTrainConfig, seconds_per_step: float) -> int:
    """Total steps for a ``minutes`` budget at the measured speed: whole epochs, at least one, at most ``steps``."""
    epochs = fitting_epochs(config.minutes, seconds_per_step * config.steps_per_epoch)
    return min(config.steps, epochs * config.steps_per_epoch)


def _losses(model: InverseModel, flow: FlowNet, spec_u8: torch.Tensor, params: torch.Tensor,
            config: OnlineTrainConfig, generator: torch.Generator) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Loss parts of one batch (``uint8 Tensor[B, bins, frames]`` spectrograms, normalised ``Tensor[B, 100]``)
    and the head's raw outputs ``Tensor[B, NUM_OUTPUTS]``."""
    spec = dequantize(spec_u8[:, None])
    with torch.autocast(spec.device.type, dtype=torch.bfloat16, enabled=spec.device.type == "cuda"):
        raw, latent = model(spec)
    parts = model.head.loss(raw.float(), params)
    parts["flow"] = flow_loss(flow, encode_params(canonical_slots(params)), latent.float(), generator)
    parts["loss"] = parts["param/l1"] + config.ce_weight * parts["param/ce"] + config.flow_weight * parts["flow"]
    return parts, raw


@torch.no_grad()
def _validate(model: InverseModel, flow: FlowNet, val: tuple[torch.Tensor, torch.Tensor], config: OnlineTrainConfig
              ) -> dict[str, float]:
    """Mean loss parts and discrete accuracy over the validation rows (flow noise fixed, so epochs compare)."""
    model.eval()
    flow.eval()
    generator = torch.Generator().manual_seed(12345)
    params_all, spec_all = val
    sums: dict[str, float] = {}
    for start in range(0, len(params_all), config.batch_size):
        spec, params = spec_all[start:start + config.batch_size], params_all[start:start + config.batch_size]
        parts, raw = _losses(model, flow, spec, params, config, generator)
        parts["discrete_acc"] = model.head.discrete_correct(raw.float(), params).mean()
        for key, value in parts.items():
            sums[key] = sums.get(key, 0.0) + float(value) * len(params)
    return {f"val/{key}": value / len(params_all) for key, value in sums.items()}


def train_online(out_dir: str | Path, *, model_config: ModelConfig | None = None, flow_config: FlowConfig | None = None,
                 config: OnlineTrainConfig | None = None, device: str = "auto", resume: bool = False,
                 init: str | Path | None = None, init_flow: str | Path | None = None, progress: bool = True) -> dict:
    """Train (or resume) model and flow on rendered batches; returns the last epoch's metrics.

    Writes ``best``/``last`` (model) and ``best_flow``/``last_flow`` pairs, ``state.*``, ``config.json``,
    ``plan.json`` and ``log.csv`` into ``out_dir``. ``inverse predict --model OUT/best --flow OUT/best_flow``
    uses the result. ``init`` (a model checkpoint, e.g. the shipped ``inverse/pretrained/default``) and
    ``init_flow`` (a flow trained on that model's backbone, e.g. ``inverse/pretrained/flow``) start a new run from
    their weights and configs instead of a fresh network: more training of a model that stopped early, on rows it
    has not seen (``data_seed``). Without ``init_flow`` the flow starts fresh.
    """
    config = config or OnlineTrainConfig()
    run = TrainingRun(out_dir, resume, device)
    if run.world > 1:
        raise InputError("train-online runs in one process (it renders its own batches); start it without torchrun")
    out, device = run.out, run.device
    start_model, start_flow = _initial_weights(init, init_flow) if not run.resumed else (None, None)
    if start_model is not None:
        model_config = start_model.config
        flow_config = start_flow.config if start_flow is not None else flow_config
    model_config = model_config or ModelConfig()
    if run.resumed:
        model_config = ModelConfig.from_json(run.saved["model"])
        flow_config = FlowConfig.from_json(run.saved["flow"])
        config = OnlineTrainConfig(**{**run.saved["train"], "steps": config.steps, "minutes": config.minutes})
    config.validate()
    # Guidance 1 (none) at sampling: for the flow trained with its backbone it drew closer candidates than 2 or 3 on
    # 60 validation targets (best-of-10 MSS 0.418 vs 0.444 and 0.465; benchmarks/results/train_online_ab/).
    flow_config = flow_config or FlowConfig(latent_dim=model_config.backbone.latent_dim, guidance=1.0)
    if flow_config.latent_dim != model_config.backbone.latent_dim:
        raise InputError(f"the flow's latent_dim {flow_config.latent_dim} is not the backbone's "
                         f"{model_config.backbone.latent_dim}")
    lineage = run.saved.get("init") if run.resumed else _lineage(init, init_flow)
    if lineage is not None and not run.resumed:
        _note_seen_rows(config, checkpoint.training_seeds(lineage.get("model_data") or {}))
    run.write_config({"model": model_config.to_json(), "flow": asdict(flow_config), "train": asdict(config),
                      "init": lineage})

    torch.manual_seed(config.seed)
    model, flow = InverseModel(model_config).to(device), FlowNet(flow_config).to(device)
    optimizer = torch.optim.AdamW([*model.parameters(), *flow.parameters()], lr=config.lr,
                                  weight_decay=config.weight_decay)
    if run.resumed:
        model.load_state_dict(checkpoint.load(out / "last", device)[0].state_dict())
        flow.load_state_dict(load_flow(out / "last_flow")[0].state_dict())
    else:
        for net, start in ((model, start_model), (flow, start_flow)):
            if start is not None:
                net.load_state_dict(start.state_dict())
    run.restore({"model_and_flow": optimizer})

    plan = run.plan() if config.minutes > 0 else None  # a resumed budget run keeps its plan; --steps overrides
    total = {"steps": plan["steps"] if plan else config.steps}
    schedule = cosine_schedule(optimizer, lambda: total["steps"], run.step)  # the plan may set the total later

    path = "auto" if device.type == "cpu" else "eager"  # the CPU's compiled render where it is built (~4x eager)
    renderer = ExampleRenderer(config.data_seed, config.sampler, DEFAULT_CONFIG, str(device), prior=config.prior,
                               render_path=path)
    val_renderer = ExampleRenderer(config.val_seed, config.sampler, DEFAULT_CONFIG, str(device), prior=config.prior,
                                   render_path=path)
    val = _render_rows(val_renderer, 0, config.val_rows, config.batch_size)
    generator = torch.Generator()
    data = {"train": {"online": True, "seed": config.data_seed, "sampler": config.sampler, "prior": config.prior,
                      "render_path": renderer.render_path},
            "val": {"online": True, "seed": config.val_seed, "sampler": config.sampler, "prior": config.prior,
                    "rows": config.val_rows},
            "val_rows": config.val_rows,  # + train_rows: the keys `inverse train` records too
            "init": lineage}  # the weights it started from (None: fresh), so a continued model says what it saw
    metrics: dict = {}
    bar = tqdm(total=total["steps"], initial=run.step, desc="training", unit="step", disable=not progress)
    while run.step < total["steps"]:
        model.train()
        flow.train()
        started, sums, steps = time.perf_counter(), {}, 0
        for _ in range(config.steps_per_epoch):
            # Every step seeds its own randomness (dropout, flow noise): a resumed run takes the same steps.
            torch.manual_seed(config.seed * 1_000_003 + run.step)
            generator.manual_seed(config.seed * 1_000_003 + run.step)
            params, spec, _ = renderer.render_tensors(run.step * config.batch_size, config.batch_size)
            parts, _ = _losses(model, flow, spec, params, config, generator)
            optimizer.zero_grad(set_to_none=True)
            parts["loss"].backward()
            torch.nn.utils.clip_grad_norm_([*model.parameters(), *flow.parameters()], config.grad_clip)
            optimizer.step()
            schedule.step()
            run.step += 1
            steps += 1
            for key, value in parts.items():  # summed on the device: no wait for the GPU at every step
                sums[key] = sums.get(key, 0.0) + value.detach()
            bar.update(1)
            if run.step >= total["steps"]:
                break
        seconds = time.perf_counter() - started
        model.latent_scale.copy_(_latent_scale(model, renderer, config))
        metrics = {"epoch": run.epoch + 1, "step": run.step, "rows_seen": run.step * config.batch_size,
                   "time_s": round(seconds, 2), "lr": schedule.get_last_lr()[0],
                   **{f"train/{key}": float(value) / steps for key, value in sums.items()},
                   **_validate(model, flow, val, config)}
        data["train"]["rows"] = data["train_rows"] = run.step * config.batch_size

        def save(name: str, metrics: dict = metrics) -> None:
            weights = checkpoint.save(model, out / name, data_fingerprint=data, metrics=metrics)
            save_flow(flow, out / f"{name}_flow", backbone_sha256=file_sha256(weights), data=data, metrics=metrics)

        run.end_epoch(metrics, metrics["val/loss"], save)
        if config.minutes > 0 and plan is None:  # the epoch's validation and checkpoints included
            per_step = (time.perf_counter() - started) / steps
            total["steps"] = planned_steps(config, per_step)
            plan = {"steps": total["steps"], "seconds_per_step": per_step}
            run.save_plan(plan)
            bar.total = total["steps"]
        if progress:
            bar.set_postfix(loss=f"{metrics['train/loss']:.4f}", flow=f"{metrics['train/flow']:.4f}")
        tqdm.write(f"epoch {metrics['epoch']} (step {run.step}/{total['steps']}): train "
                   f"{metrics['train/loss']:.4f}  val {metrics['val/loss']:.4f}  val flow {metrics['val/flow']:.4f}"
                   f"  val MAE {metrics['val/param/l1']:.4f}  discrete acc {metrics['val/discrete_acc']:.3f}"
                   f"  ({seconds:.0f} s)", file=sys.stdout)
    bar.close()
    run.close()
    return metrics


def _initial_weights(init: str | Path | None, init_flow: str | Path | None
                     ) -> tuple[InverseModel | None, FlowNet | None]:
    """The model of ``init`` and the flow of ``init_flow`` (refused unless trained on that model's backbone)."""
    if init is None:
        if init_flow is not None:
            raise InputError("--init-flow needs --init: the model whose backbone the flow was trained on")
        return None, None
    model, _ = checkpoint.load(init)
    flow = None if init_flow is None else load_flow(init_flow, backbone_weights=checkpoint.paths(init)[0])[0]
    return model, flow


def _lineage(init: str | Path | None, init_flow: str | Path | None) -> dict | None:
    """Where a run's first weights came from: the ``init`` model and ``init_flow`` by path and weights' digest, and
    the training rows the model had seen (its own recorded data); None for fresh weights."""
    if init is None:
        return None
    weights = checkpoint.paths(init)[0]
    lineage = {"model": str(init), "model_sha256": file_sha256(weights),
               "model_data": checkpoint.read_metadata(init).get("data")}
    if init_flow is not None:
        lineage |= {"flow": str(init_flow), "flow_sha256": file_sha256(checkpoint.paths(init_flow)[0])}
    return lineage


def _note_seen_rows(config: OnlineTrainConfig, seen: list[int]) -> None:
    """Say when a continued run's training or validation rows are rows its starting model already learned from
    (``seen``: their prior seeds): allowed, but the new rows are then not new, or the validation not held out."""
    fresh = max(seen + [config.data_seed, config.val_seed]) + 1
    for what, seed, advice in (("training", config.data_seed, "gives it new rows"),
                               ("validation", config.val_seed, "keeps the validation held out")):
        if seed in seen:
            note(f"{what} rows of seed {seed}: the starting model has learned from rows of seed(s) "
                 f"{', '.join(map(str, seen))}; a seed it has not seen (e.g. {fresh}) {advice}")


@torch.no_grad()
def _render_rows(renderer: ExampleRenderer, start: int, count: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(params ``Tensor[count, 100]``, uint8 spectrograms ``Tensor[count, bins, frames]``) on the renderer's device."""
    parts = [renderer.render_tensors(s, min(batch, start + count - s))[:2] for s in range(start, start + count, batch)]
    return torch.cat([p for p, _ in parts]), torch.cat([s for _, s in parts])


@torch.no_grad()
def _latent_scale(model: InverseModel, renderer: ExampleRenderer, config: OnlineTrainConfig) -> torch.Tensor:
    """Per-dimension spread of the latent over the first ``scale_rows`` training rows (latent sampling's unit)."""
    model.eval()
    _, spec = _render_rows(renderer, 0, config.scale_rows, config.batch_size)
    return latent_spread(torch.cat([model.encode(dequantize(s[:, None])) for s in spec.split(config.batch_size)]))

