"""What each loss term of the mask model buys: train one variant per switched-off term, same budget and seeds,
then score them side by side with ``benchmarks/specmask_quality.py``'s test set, baselines and metrics.

    python benchmarks/specmask_ablation.py [--epochs 2] [--examples-per-epoch 512] [--wav-dir DIR]
        [--synth-n 12] [--per-source 4] [--snrs 0 5] [--runs runs/ablation] [--out benchmarks/results]

Variants: ``full`` (the default LossConfig), ``no_adversarial``, ``no_perceptual``, ``no_sparsity``,
``no_waveform`` (no SI-SDR term) and ``no_spectral`` (no log-spectral L1). Every variant starts from the
shipped inverse backbone (frozen), the same decoder initialisation and the same mixtures, so the only
difference is the loss. A short budget (the defaults: 2 x 512 mixtures each, ~2-3 min per variant on a
2-core CPU) says which terms matter early in training, not what a long run would reach.

Writes ``specmask_ablation.{json,md}`` into ``--out`` (per variant: mean SI-SDR improvement, PESQ and STOI
over all mixtures, and per domain) and the full quality report of the variants into
``--out/specmask_ablation/``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import specmask_quality  # noqa: E402
from benchmarks.common import RESULTS, command_line, machine_info, write_results  # noqa: E402
from specmask.config import GeneratorConfig, LossConfig  # noqa: E402
from specmask.train import MaskTrainConfig, Sources, train  # noqa: E402

VARIANTS = {
    "full": {},
    "no_adversarial": {"adversarial": 0.0},
    "no_perceptual": {"perceptual": 0.0},
    "no_sparsity": {"sparsity": 0.0},
    "no_waveform": {"waveform": 0.0},
    "no_spectral": {"spectral": 0.0},
}
METRICS = ("si_sdr_i", "pesq", "stoi")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--examples-per-epoch", dest="examples_per_epoch", type=int, default=512)
    parser.add_argument("--wav-dir", dest="wav_dir", action="append", default=[])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--synth-n", dest="synth_n", type=int, default=12)
    parser.add_argument("--per-source", dest="per_source", type=int, default=4)
    parser.add_argument("--snrs", nargs="+", type=float, default=[0.0, 5.0])
    parser.add_argument("--runs", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def train_variants(args: argparse.Namespace) -> dict[str, Path]:
    """Train (or reuse a finished run of) every variant; returns ``{name: checkpoint path}``."""
    paths = {}
    config = MaskTrainConfig(epochs=args.epochs, examples_per_epoch=args.examples_per_epoch, val_examples=16,
                             adversarial_start=args.epochs * args.examples_per_epoch // 8 // 4)
    for name in args.variants:
        out = args.runs / name
        done = json.loads((out / "state.json").read_text())["epoch"] if (out / "state.json").exists() else 0
        if done < args.epochs:  # a new run, or the rest of an interrupted one
            losses = replace(LossConfig(), **VARIANTS[name])
            train(out, generator_config=GeneratorConfig(mask_max=2.0), losses=losses, config=config,
                  sources=Sources(wav_dirs=tuple(args.wav_dir)), device="cpu", resume=done > 0)
        paths[name] = out / "last"  # the same step for every variant (best would pick different epochs)
    return paths


def summary(report: dict, variants: list[str]) -> dict:
    """Mean of each metric per variant over every mixture, and per domain (NaN PESQ left out)."""
    out: dict[str, dict] = {}
    for name in variants:
        rows = [r for r in report["rows"] if r["method"] == name]
        entry = {"all": _means(rows)}
        for domain in sorted({r["domain"] for r in rows}):
            entry[domain] = _means([r for r in rows if r["domain"] == domain])
        out[name] = entry
    return out


def _means(rows: list[dict]) -> dict:
    means = {}
    for metric in METRICS:
        values = [r[metric] for r in rows if r.get(metric) is not None and not math.isnan(r[metric])]
        means[metric] = sum(values) / len(values) if values else math.nan
    return means


def markdown(results: dict) -> str:
    lines = ["# specmask loss ablation", "", f"`{results['command']}`", "",
             f"Each variant: {results['budget']}. Mean over {results['mixtures']} test mixtures "
             f"(SNRs {results['snrs']}); the full report is in `specmask_ablation/`.", "",
             "| variant | SI-SDRi dB | PESQ | STOI | " + " | ".join(f"{d} SI-SDRi" for d in results["domains"]) + " |",
             "|---|---|---|---|" + "---|" * len(results["domains"])]
    for name, entry in results["variants"].items():
        cells = [f"{entry['all'][m]:.3f}" if m != "si_sdr_i" else f"{entry['all'][m]:.2f}" for m in METRICS]
        cells += [f"{entry.get(d, {}).get('si_sdr_i', math.nan):.2f}" for d in results["domains"]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    paths = train_variants(args)
    detail = args.out / "specmask_ablation"
    quality_args = ["--out", str(detail), "--synth-n", str(args.synth_n), "--per-source", str(args.per_source),
                    "--snrs", *map(str, args.snrs), "--quiet"]
    for name, path in paths.items():
        quality_args += ["--model", f"{name}={path}"]
    specmask_quality.main(quality_args)
    report = json.loads((detail / "specmask_quality.json").read_text())
    variants = list(paths)
    results = {"command": command_line(), "machine": machine_info(), "snrs": args.snrs,
               "budget": f"{args.epochs} epochs x {args.examples_per_epoch} mixtures, frozen shipped backbone",
               "mixtures": report["test_set"]["mixtures"],
               "domains": sorted({r["domain"] for r in report["rows"]}),
               "variants": summary(report, variants)}
    json_path, md_path = write_results(args.out, "specmask_ablation", results, markdown(results))
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
