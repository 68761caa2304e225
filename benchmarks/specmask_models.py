"""Mask models side by side on one domain's mixtures of the denoising benchmark, beside its stored anchors.

The mixtures are ``benchmarks/specmask_quality.py``'s (its sources, SNRs -5 / 0 / 5 / 10 dB, a stationary and a
non-stationary interferer per source, seed 3) of one domain (``speech``, ``instrument`` or ``synth``); each model
runs at each ``--exponent`` (``specmask enhance --exponent``); the stored run's rows of DeepFilterNet3, RNNoise and
the shipped model on the same mixtures stand beside them (a model that is the shipped one must reproduce its row:
that checks the mixtures). Writes ``table_DOMAIN.md`` (SI-SDR improvement / wideband PESQ / STOI per noise kind and
SNR, then PESQ per interferer) and ``rows_DOMAIN.json`` (every mixture and method) into ``--out``:

    python benchmarks/specmask_models.py --model speech=specmask/pretrained/speech --model new=runs/x/best \\
        --domain speech --out benchmarks/results/DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import specmask_quality as Q  # noqa: E402
from benchmarks.common import command_line, load_average  # noqa: E402
from specmask.checkpoint import load  # noqa: E402
from specmask.enhance import MaskControls  # noqa: E402


def compare(models: dict[str, str], domain: str, exponents: list[float]) -> tuple[list[dict], str]:
    """Rows (:func:`specmask_quality.domain_sweep`) and the markdown tables for ``models`` (name -> checkpoint)."""
    methods = {}
    for name, path in models.items():
        generator = load(path)[0]
        for p in exponents:
            label = name if len(exponents) == 1 else f"{name}, exponent {p:g}"
            methods[label] = Q.model_method(generator, controls=MaskControls.for_mode("denoise", exponent=p))
    rows = Q.domain_sweep(methods, domain)
    names = [*methods, *Q.STORED_ANCHORS]
    tables = (Q.sweep_table(rows, names, f"{domain}: SI-SDRi / PESQ / STOI") + "\n\n"
              + Q.interferer_table(rows, names, f"{domain}: PESQ by interferer, -5 / 0 / 5 / 10 dB (sources)"))
    return rows, tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                        help="a mask-model checkpoint and its row name (repeat)")
    parser.add_argument("--domain", choices=Q.DOMAINS, default="speech")
    parser.add_argument("--exponent", type=float, nargs="+", default=[1.0], help="mask exponents (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="folder for table_DOMAIN.md and rows_DOMAIN.json")
    args = parser.parse_args(argv)
    try:
        models = Q.parse_model_specs(args.model)
    except ValueError as e:
        parser.error(str(e))
    start, load_before = time.perf_counter(), load_average()
    rows, tables = compare(models, args.domain, args.exponent)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"rows_{args.domain}.json").write_text(json.dumps(rows, default=float) + "\n")
    header = (f"`{command_line()}`: {(time.perf_counter() - start) / 60:.1f} min, load average {load_before[0]:.2f} "
              f"-> {load_average()[0]:.2f}; cells are means over the sources.\n\n")
    (args.out / f"table_{args.domain}.md").write_text(header + tables + "\n")
    print(tables)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
