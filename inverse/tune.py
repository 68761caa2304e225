"""``inverse tune``: an optuna study over the training's hyperparameters.

Each trial trains a model with :func:`inverse.train.train` for ``epochs`` epochs, reporting a validation
loss with *fixed* weights after every epoch (``val/l1 + 0.2 val/ce``, comparable between trials whatever
their ``ce_weight``) so the median pruner can stop poor trials early. A finished trial is scored by what
users get: the mean best-of-K match distance (synth.perceptual) of latent sampling, with the trial's ``sigma``, on
the first ``eval_targets`` validation rows.

The study lives in an optuna storage (default ``sqlite:///OUT/tune.db``; a PostgreSQL URL lets a study
span machines), so several processes can work on one study and a stopped study resumes where it was:
``--trials N`` is the number of finished trials the study should reach, whoever runs them. The search
space is recorded with the study, and a study made for another space is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import optuna
import sqlalchemy.exc
import torch

from dataset_gen.reader import SpectrogramDataset
from inverse import checkpoint
from inverse.config import BackboneConfig, HeadConfig, ModelConfig
from inverse.sampling import SamplingConfig, sample
from inverse.train import TrainConfig, train
from synth.errors import InputError

# name -> (kind, arguments): what optuna suggests. Changing it changes SPACE_ID, and old studies are refused.
SPACE: dict[str, tuple] = {
    "lr": ("log", 1e-4, 3e-3),
    "weight_decay": ("log", 1e-6, 1e-2),
    "ce_weight": ("log", 0.05, 1.0),
    "dropout": ("float", 0.0, 0.3),
    "width": ("categorical", [16, 24, 32]),  # backbone widths (w, 2w, 4w, 8w)
    "latent_dim": ("categorical", [128, 256, 512]),
    "batch_size": ("categorical", [32, 64]),
    "sigma": ("log", 0.25, 2.0),  # latent sampling noise
}
SPACE_ID = hashlib.sha256(json.dumps(SPACE, sort_keys=True).encode()).hexdigest()[:16]
PRUNE_CE_WEIGHT = 0.2  # fixed weighting of the per-epoch value reported for pruning
#: Completed trials before fANOVA's importances are computed and shown: its random forest fitted to fewer points says
#: nothing about the space (and importing it, scikit-learn included, takes ~3 s).
MIN_IMPORTANCE_TRIALS = 5
_OPEN_ATTEMPTS = 5  # tries to open a storage whose schema another process is creating at the same moment


@dataclass(frozen=True)
class TuneConfig:
    trials: int = 20  # finished (complete or pruned) trials the study should reach
    epochs: int = 5  # training epochs per trial
    eval_targets: int = 16  # validation rows scored by latent sampling at the end of a trial
    eval_pool: int = 32  # sampling pool per target during tuning
    eval_samples: int = 10  # candidates per target (best-of-K)
    num_workers: int = 2  # DataLoader workers per trial
    seed: int | None = None  # TPE sampler seed; None: different in each process (several workers, one study)


def _suggest(trial: optuna.Trial) -> dict:
    values = {}
    for name, (kind, *args) in SPACE.items():
        if kind == "log":
            values[name] = trial.suggest_float(name, args[0], args[1], log=True)
        elif kind == "float":
            values[name] = trial.suggest_float(name, args[0], args[1])
        else:
            values[name] = trial.suggest_categorical(name, args[0])
    return values


def configs_for(values: dict, base: TrainConfig) -> tuple[ModelConfig, TrainConfig, SamplingConfig]:
    """One trial's suggested values -> the configurations ``inverse train`` and sampling use."""
    width = values["width"]
    model = ModelConfig(BackboneConfig(widths=(width, 2 * width, 4 * width, 8 * width),
                                       latent_dim=values["latent_dim"]), HeadConfig(dropout=values["dropout"]))
    train_config = replace(base, lr=values["lr"], weight_decay=values["weight_decay"],
                           ce_weight=values["ce_weight"], batch_size=values["batch_size"])
    return model, train_config, SamplingConfig(sigma=values["sigma"])


def open_study(storage: str, name: str, seed: int | None) -> optuna.Study:
    """Create or load study ``name`` in ``storage``; one clear :class:`InputError` when the storage cannot be
    reached or the study was made for another search space."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage.startswith("sqlite:///") and not Path(storage[len("sqlite:///"):]).parent.is_dir():
        # say so at once instead of retrying as for a schema race
        raise InputError(f"cannot reach the study storage {storage!r}: its folder "
                         f"{Path(storage[len('sqlite:///'):]).parent} does not exist")
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            rdb = optuna.storages.RDBStorage(storage, engine_kwargs={"connect_args": {"timeout": 60}}
                                             if storage.startswith("sqlite") else {})
            study = optuna.create_study(storage=rdb, study_name=name, direction="minimize", load_if_exists=True,
                                        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=5),
                                        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))
            break
        except (ImportError, ValueError) as error:
            raise InputError(f"cannot use the study storage {storage!r}: {_one_line(error)}") from None
        except Exception as error:  # sqlalchemy's errors: unreachable server, unwritable file, or a race
            # Two processes creating a new storage's schema at once: one of them fails; retry it.
            if isinstance(error, sqlalchemy.exc.IntegrityError | sqlalchemy.exc.OperationalError) and \
                    attempt < _OPEN_ATTEMPTS - 1:
                time.sleep(0.5 * (attempt + 1))
                continue
            raise InputError(f"cannot reach the study storage {storage!r}: {_one_line(error)}") from None
    recorded = study.user_attrs.get("space_id")
    if recorded is None and study.trials:
        raise InputError(f"study {name!r} in {storage} was not made by `inverse tune`; choose another --study")
    if recorded is not None and recorded != SPACE_ID:
        raise InputError(f"study {name!r} in {storage} was made for another search space (id {recorded}, this "
                         f"version's is {SPACE_ID}); choose another --study")
    if recorded is None:
        study.set_user_attr("space_id", SPACE_ID)
        study.set_user_attr("space", {k: list(v) for k, v in SPACE.items()})
    return study


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:300] or error.__class__.__name__


def sampling_quality(model, val_path: str | Path, config: TuneConfig, sampling: SamplingConfig) -> float:
    """Mean best-of-K match distance of latent sampling over the first ``eval_targets`` validation rows."""
    data = SpectrogramDataset(val_path, audio=False)
    sampling = replace(sampling, pool=config.eval_pool, samples=min(config.eval_samples, config.eval_pool))
    best = []
    with torch.no_grad():
        for i in range(min(config.eval_targets, len(data))):
            spec, _ = data[i]
            best.append(float(sample(model, spec[0], sampling).match[0]))
    return statistics.fmean(best)


def tune(train_path: str | Path, val_path: str | Path, out_dir: str | Path, config: TuneConfig | None = None,
         storage: str | None = None, study_name: str = "inverse", progress: bool = True) -> dict:
    """Run trials until the study has ``config.trials`` finished ones; write the best configuration and a
    summary into ``out_dir``; return the summary as a dict."""
    config = config or TuneConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(out / 'tune.db').resolve()}"
    for path in (train_path, val_path):
        if not Path(path).is_file():
            raise InputError(f"{path}: no such dataset")
    seed = config.seed if config.seed is not None else os.getpid()
    study = open_study(storage, study_name, seed)
    base = TrainConfig(epochs=config.epochs, num_workers=config.num_workers, seed=0)

    def objective(trial: optuna.Trial) -> float:
        values = _suggest(trial)
        model_config, train_config, sampling = configs_for(values, base)
        trial.set_user_attr("config", {"model": model_config.to_json(), "train": asdict(train_config),
                                       "sampling": asdict(sampling)})

        def report(metrics: dict) -> None:
            value = metrics["val/l1"] + PRUNE_CE_WEIGHT * metrics["val/ce"]
            trial.report(value, metrics["epoch"])
            if trial.should_prune():
                raise optuna.TrialPruned(f"epoch {metrics['epoch']}: {value:.4f}")

        run = out / "trials" / f"trial_{trial.number:04d}"
        train(train_path, run, val_path=val_path, model_config=model_config, config=train_config, device="auto",
              progress=False, on_epoch=report)
        model, _ = checkpoint.load(run / "best")
        return sampling_quality(model, val_path, config, sampling)

    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    remaining = config.trials - len(study.get_trials(deepcopy=False, states=finished))
    if remaining > 0:
        study.optimize(objective, n_trials=remaining, catch=(),
                       callbacks=[optuna.study.MaxTrialsCallback(config.trials, states=finished)],
                       show_progress_bar=progress)
    return write_summary(study, out)


def write_summary(study: optuna.Study, out: Path) -> dict:
    """``best_config.json`` (accepted by ``inverse train --config``), ``summary.txt`` and ``summary.png``."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise InputError(f"study {study.study_name!r} has no completed trial yet")
    best = min(complete, key=lambda t: t.value)
    (out / "best_config.json").write_text(json.dumps({**best.user_attrs["config"], "study": study.study_name,
                                                      "trial": best.number, "value_db": best.value}, indent=2))
    try:
        importances = optuna.importance.get_param_importances(study) if len(complete) >= MIN_IMPORTANCE_TRIALS \
            else {}
    except (RuntimeError, ValueError):  # e.g. every trial with the same value
        importances = {}
    ranked = sorted(complete, key=lambda t: t.value)[:5]
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    lines = [f"study {study.study_name}: {len(states)} trials ({states.count('COMPLETE')} complete, "
             f"{states.count('PRUNED')} pruned, {states.count('FAIL')} failed)",
             "objective: mean best-of-K match distance of latent sampling on validation targets", "",
             "best trials:"]
    lines += [f"  #{t.number:<4} {t.value:8.3f}  " + ", ".join(f"{k}={_fmt(v)}" for k, v in t.params.items())
              for t in ranked]
    lines += ["", "parameter importances (fANOVA):"]
    lines += [f"  {name:<14} {value:.3f}" for name, value in importances.items()] or [
        f"  (needs {MIN_IMPORTANCE_TRIALS}+ completed trials with different values)"]
    lines += ["", f"best configuration: {out / 'best_config.json'} (inverse train --config ...)"]
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    _figure(study, importances, out / "summary.png")
    return {"best_trial": best.number, "best_value_db": best.value, "best_params": best.params,
            "importances": importances, "trials": len(states), "complete": states.count("COMPLETE"),
            "pruned": states.count("PRUNED")}


def _fmt(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _figure(study: optuna.Study, importances: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    numbers, values = [t.number for t in complete], [t.value for t in complete]
    left.plot(numbers, values, "o", label="trial")
    left.plot(numbers, [min(values[: i + 1]) for i in range(len(values))], "-", label="best so far")
    left.set(xlabel="trial", ylabel="best-of-K match distance", title=f"study {study.study_name}")
    left.legend()
    names = list(importances)[::-1]
    right.barh(names, [importances[n] for n in names])
    if not importances:
        right.text(0.5, 0.5, f"needs {MIN_IMPORTANCE_TRIALS}+ completed trials\nwith different values",
                   ha="center", va="center", transform=right.transAxes)
    right.set(xlabel="importance (fANOVA)", title="hyperparameter importances")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
