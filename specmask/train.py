"""Training the mask model (generator + discriminator) on the inverse model's backbone.

``train(...)`` writes into ``out_dir``: ``best.{safetensors,json}`` (highest validation SI-SDR
improvement) and ``last.{safetensors,json}`` — combined checkpoints (:mod:`specmask.checkpoint`) holding
the backbone, the regression head and the mask decoder, so ``inverse predict`` and ``specmask enhance``
both read them — plus ``discriminator.safetensors``, ``state.{safetensors,json}`` (both optimizers and
progress, for ``--resume``), ``config.json`` and ``log.csv``. Every epoch draws new mixtures (example
``i`` of epoch ``e`` is mixture ``e * examples_per_epoch + i``), so a resumed run sees the same data as an
uninterrupted one. Runs under ``torchrun`` with DistributedDataParallel.

One step, as in descript-audio-codec's GAN loop: the discriminator step on (clean, mixture) vs
(enhanced, mixture) spectrograms, then the generator step on the weighted sum of namespaced losses
(``recon/spectral``, ``recon/waveform``, ``adv/gen``, ``perceptual``, ``mask/sparsity``).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from inverse import checkpoint as inverse_checkpoint
from inverse.config import build_dataclass
from inverse.runs import TrainingRun, fitting_epochs
from specmask import checkpoint
from specmask.config import DiscriminatorConfig, GeneratorConfig, LossConfig, MaskModelConfig
from specmask.data import MixtureDataset, SourcePool, collate_pairs
from specmask.discriminator import PatchDiscriminator
from specmask.generator import MaskGenerator
from specmask.losses import (
    discriminator_loss,
    generator_adversarial_loss,
    perceptual_loss,
    si_sdr,
    sparsity_loss,
    spectral_l1,
    waveform_loss,
)
from specmask.mixing import MixConfig
from specmask.perceptual import build_perceptual
from synth.errors import (
    InputError,
    NumberRule,
    any_integer,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
)
from synth.spectrogram import DEFAULT_CONFIG, Spectrogram

# Every column of log.csv's training part, present in every row (a term not yet active logs NaN).
LOGGED = ("loss", "recon/spectral", "recon/waveform", "adv/gen", "perceptual", "mask/sparsity", "adv/disc",
          "skipped/gen", "skipped/disc")


@dataclass(frozen=True)
class MaskTrainConfig:
    epochs: int = 10  # passes; each draws new mixtures
    examples_per_epoch: int = 2048  # mixtures per epoch (all processes together)
    val_examples: int = 48  # fixed validation mixtures (data_seed + 1)
    batch_size: int = 8  # per process
    lr: float = 3e-4  # generator's Adam learning rate (cosine decay to 5 % over the run)
    lr_disc: float = 2e-4  # discriminator's Adam learning rate
    betas: tuple[float, float] = (0.8, 0.99)  # Adam betas for both (HiFi-GAN's: stable adversarial training)
    seed: int = 0  # weights of the new parts (decoder, discriminator)
    data_seed: int = 21  # training mixtures; validation uses data_seed + 1 (benchmarks use other seeds)
    num_workers: int = 1  # DataLoader processes making mixtures (synth renders) beside the training
    grad_clip: float = 1.0  # max gradient norm, each network
    finetune_backbone: bool = False  # train a copy of the backbone too (the regression head keeps the original)
    backbone_lr_scale: float = 0.1  # its learning rate relative to lr
    adversarial_start: int = 100  # generator steps on the other losses before the discriminator joins
    perceptual_network: str = "backbone"  # backbone (frozen inverse backbone) or vggish
    vggish_weights: str | None = None  # safetensors file with converted official VGGish weights
    external_share: float = 0.5  # share of clean sources from --wav-dir / --audio-data when given
    init: str | None = None  # a mask checkpoint on the same backbone whose decoder this run starts from
    minutes: float = 0.0  # > 0: time the first epoch and plan the run to about this long (at most ``epochs``)

    def __post_init__(self):
        for name, rule in MASK_TRAIN_RULES.items():
            rule.check(getattr(self, name), name)


# What each numeric field of MaskTrainConfig must be (the command-line options use the same rules).
MASK_TRAIN_RULES: dict[str, NumberRule] = {
    "epochs": positive_int, "examples_per_epoch": positive_int, "val_examples": positive_int,
    "batch_size": positive_int, "lr": positive_float, "lr_disc": positive_float, "seed": any_integer,
    "data_seed": any_integer, "num_workers": non_negative_int, "grad_clip": positive_float,
    "backbone_lr_scale": positive_float, "adversarial_start": non_negative_int, "external_share": probability,
    "minutes": non_negative_float,
}


@dataclass(frozen=True)
class Sources:
    """Where clean sources come from besides the synth (recorded in config.json and the checkpoint)."""

    wav_dirs: tuple[str, ...] = ()  # folders, or CLASS=folder (labelled: the model learns to keep a class)
    audio_data: str | None = None
    noise_dirs: tuple[str, ...] = ()  # folders of interferer sounds (the ``sound`` interferer), never sources


@dataclass
class State:
    """Both networks, their optimizers and the frozen perceptual network."""

    generator: MaskGenerator
    discriminator: PatchDiscriminator
    perceptual: torch.nn.Module | None
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    spectrogram: Spectrogram
    losses: LossConfig
    config: MaskTrainConfig
    nets: dict = field(default_factory=dict)  # DDP wrappers (or the modules themselves)


def _spectrograms(spectrogram: Spectrogram, mixture: torch.Tensor, clean: torch.Tensor):
    """Mixture magnitude, phase and normalised spectrogram; clean normalised spectrogram (no gradients)."""
    with torch.no_grad():
        stft = spectrogram.stft(mixture)
        magnitude, phase = stft.abs(), stft.angle()
        mix_spec = spectrogram.normalized_from_magnitude(magnitude)[:, None]
        clean_spec = spectrogram(clean)[:, None]
    return magnitude, phase, mix_spec, clean_spec


def _enhance(spectrogram: Spectrogram, net, magnitude, phase, mix_spec, cue, need_audio: bool):
    """Mask ``(B, 1, F, T)``, enhanced normalised spectrogram ``(B, 1, F, T)`` and (``need_audio``) audio;
    ``cue`` ``LongTensor[B]``: the class to keep (:mod:`specmask.generator`)."""
    mask = net(mix_spec, cue)
    enhanced_magnitude = magnitude * mask[:, 0]
    enhanced_spec = spectrogram.normalized_from_magnitude(enhanced_magnitude)[:, None]
    audio = spectrogram.istft(enhanced_magnitude, phase) if need_audio else None
    return mask, enhanced_spec, audio


def _update(optimizer: torch.optim.Optimizer, loss: torch.Tensor, module: torch.nn.Module, clip: float) -> bool:
    """Backward, clip and step; a non-finite loss or gradient skips the step (returns False) instead of
    poisoning the weights (rare float overflows in a GAN would otherwise end a long run in NaN)."""
    optimizer.zero_grad(set_to_none=True)
    if not torch.isfinite(loss):
        return False
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_([p for p in module.parameters() if p.requires_grad], clip)
    if not torch.isfinite(norm):
        optimizer.zero_grad(set_to_none=True)
        return False
    optimizer.step()
    return True


def train_step(state: State, mixture: torch.Tensor, clean: torch.Tensor, cue: torch.Tensor, step: int
               ) -> dict[str, float]:
    """One discriminator step then one generator step on a batch ``Tensor[B, 65408]`` with its cues
    ``LongTensor[B]`` (the class to keep); returns the losses."""
    losses, config = state.losses, state.config
    magnitude, phase, mix_spec, clean_spec = _spectrograms(state.spectrogram, mixture, clean)
    need_audio = losses.waveform > 0 or config.perceptual_network == "vggish"
    mask, enhanced_spec, enhanced_audio = _enhance(state.spectrogram, state.nets["g"], magnitude, phase, mix_spec,
                                                   cue, need_audio)
    adversarial = losses.adversarial > 0 and step >= config.adversarial_start
    report: dict[str, float] = {}
    if adversarial:
        state.discriminator.requires_grad_(True)
        # One forward over real and fake together: DistributedDataParallel allows one forward per backward.
        logits = state.nets["d"](torch.cat([clean_spec, enhanced_spec.detach()]), torch.cat([mix_spec, mix_spec]))
        real, fake = logits.chunk(2)
        d_loss = discriminator_loss(real, fake, losses.adversarial_kind)
        report["skipped/disc"] = float(not _update(state.opt_d, d_loss, state.discriminator, config.grad_clip))
        report["adv/disc"] = float(d_loss.detach())
        state.discriminator.requires_grad_(False)  # the generator's step needs gradients through D, not for it
    parts = {"recon/spectral": spectral_l1(enhanced_spec, clean_spec)}
    weights = {"recon/spectral": losses.spectral, "recon/waveform": losses.waveform, "adv/gen": losses.adversarial,
               "perceptual": losses.perceptual, "mask/sparsity": losses.sparsity}
    if losses.waveform > 0:
        parts["recon/waveform"] = waveform_loss(enhanced_audio, clean, losses.waveform_kind)
    if adversarial:
        # The bare module: D's weights are frozen for this step, so no gradient of D to synchronise.
        parts["adv/gen"] = generator_adversarial_loss(state.discriminator(enhanced_spec, mix_spec),
                                                      losses.adversarial_kind)
    if losses.perceptual > 0 and state.perceptual is not None:
        with torch.no_grad():
            reference = state.perceptual(clean_spec, clean)
        parts["perceptual"] = perceptual_loss(state.perceptual(enhanced_spec, enhanced_audio), reference)
    if losses.sparsity > 0:
        parts["mask/sparsity"] = sparsity_loss(mask)
    total = sum(weights[name] * value for name, value in parts.items())
    report["skipped/gen"] = float(not _update(state.opt_g, total, state.generator, config.grad_clip))
    report.update({name: float(value.detach()) for name, value in parts.items()})
    report["loss"] = float(total.detach())
    return report


@torch.no_grad()
def validate(generator: MaskGenerator, spectrogram: Spectrogram, mixtures: torch.Tensor, cleans: torch.Tensor,
             cues: torch.Tensor, batch_size: int) -> dict[str, float]:
    """Mean spectral L1 (dB) and SI-SDR of enhanced vs noisy over fixed validation mixtures (one window each,
    each with its cue)."""
    generator.eval()
    sums = {"val/spectral_db": 0.0, "val/sisdr_db": 0.0, "val/sisdr_noisy_db": 0.0}
    device = next(generator.parameters()).device
    for mixture, clean, cue in zip(mixtures.split(batch_size), cleans.split(batch_size), cues.split(batch_size)):
        mixture, clean, cue = mixture.to(device), clean.to(device), cue.to(device)
        magnitude, phase, mix_spec, clean_spec = _spectrograms(spectrogram, mixture, clean)
        _, enhanced_spec, audio = _enhance(spectrogram, generator, magnitude, phase, mix_spec, cue, need_audio=True)
        gap = (enhanced_spec - clean_spec).abs().mean(dim=(1, 2, 3)).sum()
        sums["val/spectral_db"] += float(gap) * spectrogram.config.db_range
        sums["val/sisdr_db"] += float(si_sdr(audio, clean).sum())
        sums["val/sisdr_noisy_db"] += float(si_sdr(mixture, clean).sum())
    metrics = {k: v / mixtures.shape[0] for k, v in sums.items()}
    metrics["val/sisdr_improvement_db"] = metrics["val/sisdr_db"] - metrics["val/sisdr_noisy_db"]
    return metrics


def start_from(generator: MaskGenerator, path: str | Path, backbone_too: bool = False) -> None:
    """Load the decoder of mask checkpoint ``path`` into ``generator`` (same backbone weights, same decoder
    shape), so the run starts from that model's masks; its cue embedding too where it has the same classes (a
    model without them, or with others, leaves the cues at zero: no effect yet). ``backbone_too``
    (``--finetune-backbone``): the generator's copy of the backbone starts from ``path``'s too (a model whose
    backbone was fine-tuned goes on from it), which must have the same shapes."""
    trained, info = checkpoint.load(path)
    ours, theirs = generator.backbone.state_dict(), trained.backbone.state_dict()
    if backbone_too:
        if ours.keys() != theirs.keys() or any(ours[k].shape != theirs[k].shape for k in ours):
            raise InputError(f"--init {path}: its backbone does not have --backbone's shapes")
        generator.backbone.load_state_dict(theirs)
    elif ours.keys() != theirs.keys() or any(not torch.equal(ours[k], theirs[k]) for k in ours):
        if info.get("mask_backbone") == "finetuned":
            raise InputError(f"--init {path}: its decoder runs on a fine-tuned copy of the backbone; add "
                             "--finetune-backbone to go on from it")
        raise InputError(f"--init {path}: its backbone is not --backbone's; pass --backbone {path}"
                         + (" (or --finetune-backbone to go on from it)" if ours.keys() == theirs.keys() else ""))
    same_classes = trained.config.classes == generator.config.classes
    state = {k: v for k, v in trained.decoder.state_dict().items() if same_classes or not k.startswith("film.")}
    missing, unexpected = generator.decoder.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith("film.") for k in missing):
        raise InputError(f"--init {path}: its decoder does not fit this one (missing {missing}, unexpected "
                         f"{unexpected}); use the same --decoder-width, --subpixel-channels and --mask-max")


def planned_epochs(config: MaskTrainConfig, seconds_per_epoch: float) -> int:
    """Epochs that fit ``config.minutes`` at the measured pace: at least the one already run, at most ``epochs``."""
    return min(config.epochs, fitting_epochs(config.minutes, seconds_per_epoch))


def train(out_dir: str | Path, *, backbone: str | Path = inverse_checkpoint.DEFAULT_MODEL,
          generator_config: GeneratorConfig | None = None, discriminator_config: DiscriminatorConfig | None = None,
          losses: LossConfig | None = None,
          mix: MixConfig | None = None, config: MaskTrainConfig | None = None, sources: Sources | None = None,
          device: str = "auto", resume: bool = False, progress: bool = True, max_steps: int | None = None) -> dict:
    """Train (or resume) the mask head on ``backbone`` (an inverse checkpoint); returns the last epoch's metrics.

    ``max_steps`` stops early (tests)."""
    run = TrainingRun(out_dir, resume, device, maximize=True)
    device, out, rank, world = run.device, run.out, run.rank, run.world
    if run.resumed:
        saved = run.saved
        backbone = saved["backbone"]
        generator_config = build_dataclass(GeneratorConfig, saved["model"]["generator"])
        discriminator_config = build_dataclass(DiscriminatorConfig, saved["model"]["discriminator"])
        losses, mix = build_dataclass(LossConfig, saved["losses"]), build_dataclass(MixConfig, saved["mix"])
        epochs = (config or MaskTrainConfig()).epochs
        config = build_dataclass(MaskTrainConfig, {**saved["train"], "epochs": epochs})
        sources = build_dataclass(Sources, saved["sources"])
    generator_config, losses = generator_config or GeneratorConfig(), losses or LossConfig()
    mix, config, sources = mix or MixConfig(), config or MaskTrainConfig(), sources or Sources()
    if config.minutes > 0 and world > 1:
        raise InputError("--minutes plans a run from one process's first epoch; start it without torchrun, or give "
                         "--epochs")
    if ("sound" in mix.interferers) != bool(sources.noise_dirs):
        raise InputError("the sound interferer and --noise-dir go together: give --noise-dir FOLDER and add sound to "
                         f"--interferers (got interferers {' '.join(mix.interferers)}, "
                         f"{len(sources.noise_dirs)} noise folders)")
    pool = SourcePool(config.data_seed, sources.wav_dirs, sources.audio_data, config.external_share,
                      sources.noise_dirs)
    if generator_config.classes and generator_config.classes != pool.classes:
        raise InputError(f"the generator's classes {generator_config.classes} are not the sources' {pool.classes}")
    generator_config = replace(generator_config, classes=pool.classes)  # from the labelled --wav-dir folders

    inverse_model, inverse_info = inverse_checkpoint.load(backbone, "cpu")
    model_config = MaskModelConfig(backbone=inverse_model.config.backbone, generator=generator_config,
                                   discriminator=discriminator_config or DiscriminatorConfig())
    torch.manual_seed(config.seed)
    if config.finetune_backbone:
        generator = MaskGenerator(copy.deepcopy(inverse_model.backbone), generator_config)
    else:
        generator = MaskGenerator(inverse_model.backbone, generator_config)
        generator.backbone.requires_grad_(False)
    discriminator = PatchDiscriminator(model_config.discriminator)
    perceptual = None
    if losses.perceptual > 0:
        perceptual = build_perceptual(config.perceptual_network, inverse_model.backbone, config.vggish_weights,
                                      share=not config.finetune_backbone).to(device)
    if config.init and not run.resumed:
        start_from(generator, config.init, backbone_too=config.finetune_backbone)
    generator.to(device)
    discriminator.to(device)
    groups = [{"params": list(generator.decoder.parameters())}]
    if config.finetune_backbone:
        groups.append({"params": list(generator.backbone.parameters()), "lr": config.lr * config.backbone_lr_scale})
    opt_g = torch.optim.Adam(groups, lr=config.lr, betas=config.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr_disc, betas=config.betas)
    if run.resumed:
        generator.load_state_dict(checkpoint.load(out / "last", device)[0].state_dict())
        discriminator.load_state_dict(load_file(str(out / "discriminator.safetensors"), device=str(device)))
    run.restore({"generator": opt_g, "discriminator": opt_d})
    run.write_config({"backbone": str(backbone), "model": model_config.to_json(), "losses": asdict(losses),
                      "mix": asdict(mix), "train": asdict(config), "sources": asdict(sources)})

    spectrogram = Spectrogram(DEFAULT_CONFIG).to(device)
    nets = {"g": DistributedDataParallel(generator) if world > 1 else generator,
            "d": DistributedDataParallel(discriminator) if world > 1 else discriminator}
    state = State(generator, discriminator, perceptual, opt_g, opt_d, spectrogram, losses, config, nets)
    val_set = MixtureDataset(pool.reseeded(config.data_seed + 1), mix, config.data_seed + 1, 0, config.val_examples)
    val_batch = val_set.__getitems__(range(config.val_examples)) if run.main else None
    steps_per_epoch = max(1, config.examples_per_epoch // (config.batch_size * world))
    plan = run.plan() if config.minutes > 0 else None  # a budget run's epochs, kept for --resume (--epochs caps them)
    total = {"epochs": min(config.epochs, plan["epochs"]) if plan else config.epochs}
    schedule = run.schedule(opt_g, lambda: steps_per_epoch * total["epochs"])  # the plan may shorten it
    training = {"losses": asdict(losses), "mix": asdict(mix), "train": asdict(config), "sources": asdict(sources)}
    metrics: dict[str, float] = {}

    while run.epoch < total["epochs"]:
        epoch = run.epoch
        data = MixtureDataset(pool, mix, config.data_seed, epoch * config.examples_per_epoch,
                              config.examples_per_epoch)
        sampler = DistributedSampler(data, world, rank, shuffle=False) if world > 1 else None
        loader = DataLoader(data, batch_size=config.batch_size, sampler=sampler, collate_fn=collate_pairs,
                            num_workers=config.num_workers, drop_last=True)
        generator.train()
        discriminator.train()
        if not config.finetune_backbone:
            generator.backbone.eval()  # frozen: GroupNorm has no running statistics, but keep it explicit
        started = time.perf_counter()
        sums, counts = dict.fromkeys(LOGGED, 0.0), dict.fromkeys(LOGGED, 0)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{total['epochs']}", disable=not progress or not run.main,
                   unit="batch", leave=False)
        for mixture, clean, cue in bar:
            report = train_step(state, mixture.to(device), clean.to(device), cue.to(device), run.step)
            schedule.step()
            run.step += 1
            for name, value in report.items():
                sums[name] += value
                counts[name] += 1
            bar.set_postfix(loss=f"{report['loss']:.4f}")
            if max_steps is not None and run.step >= max_steps:
                break
        metrics = {}
        if run.main:
            means = {f"train/{k}": sums[k] / counts[k] if counts[k] else math.nan for k in LOGGED}
            metrics = {"epoch": epoch + 1, "step": run.step, "time_s": round(time.perf_counter() - started, 2),
                       "lr": schedule.get_last_lr()[0], **means,
                       **validate(generator, spectrogram, *val_batch, config.batch_size)}
        data_info = {"data_seed": config.data_seed, "examples": run.step * config.batch_size * world,
                     "sources": asdict(sources)}

        def save(name: str, metrics: dict = metrics, data_info: dict = data_info) -> None:
            checkpoint.save(generator, inverse_model, out / name, config=model_config,
                            finetuned=config.finetune_backbone, inverse_info=inverse_info, metrics=metrics,
                            data=data_info, training=training)
            if name == "last":  # the discriminator resumes from the last epoch only
                save_file({k: v.detach().cpu().contiguous() for k, v in discriminator.state_dict().items()},
                          str(out / "discriminator.safetensors.tmp"))
                (out / "discriminator.safetensors.tmp").replace(out / "discriminator.safetensors")

        run.end_epoch(metrics, metrics.get("val/sisdr_improvement_db", math.nan), save)
        if config.minutes > 0 and plan is None:  # the first epoch, its validation and checkpoints included
            seconds = time.perf_counter() - started
            total["epochs"] = planned_epochs(config, seconds)
            plan = {"epochs": total["epochs"], "seconds_per_epoch": seconds}
            run.save_plan(plan)
        if run.main and progress:
            tqdm.write(f"epoch {epoch + 1}: loss {metrics.get('train/loss', math.nan):.4f}  val SI-SDR "
                       f"{metrics['val/sisdr_db']:.2f} dB (noisy {metrics['val/sisdr_noisy_db']:.2f}, "
                       f"+{metrics['val/sisdr_improvement_db']:.2f})  spectral "
                       f"{metrics['val/spectral_db']:.2f} dB  ({metrics['time_s']:.0f} s)")
        if max_steps is not None and run.step >= max_steps:
            break
    run.close()
    return metrics
