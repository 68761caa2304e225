"""Does a mask model need the noise to reach 8 kHz? The same sources and noises, with the noise's top edge as
generated, as a 44.1/48 kHz recording has it after resampling to 16 kHz, and cut above 7 or 3 kHz.

    python benchmarks/specmask_band_edge.py --model default=specmask/pretrained/default --model new=runs/x/best \\
        [--per-source 8] [--snrs 0 5] [--out benchmarks/results/DIR]

Every training noise of the mask models reached 8 kHz at full level (white, pink, brown noise made at 16 kHz),
and so does every stationary noise of ``specmask_quality.py``. Real input does not: ``specmask enhance``
resamples a 44.1 or 48 kHz file to 16 kHz, and the resampler's filter takes the noise down by 3 dB at 7.5 kHz
and more above; many noises have little there anyway. Here each of the benchmark's espeak-ng phrases, alsa-utils
recordings and fluidsynth notes (``--per-source`` of each, 16 kHz) is mixed with white and pink noise at each
``--snrs`` four ways: ``as made`` (the noise reaches 8 kHz), ``resampled`` (the noise through
:func:`specmask.mixing.band_limited`, the resampler's edge), ``below 7 kHz`` and ``below 3 kHz`` (the noise low-passed
there, two biquads: -24 dB an octave above, :func:`specmask.mixing.lowpassed`; until 7 December torchaudio's
``lowpass_biquad`` clipped the unit-RMS noise to [-1, 1], 15 % of its samples, which put highs back: -20 instead of
-34 dB over 7.5-8 kHz). A model that judges the noise where it is loud, not at the band's top edge, scores the same
in all four. Writes ``band_edge.{json,md}`` (mean SI-SDR improvement and wideband PESQ per domain, model and edge).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import specmask_quality as Q  # noqa: E402
from benchmarks.common import RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402
from specmask.checkpoint import load  # noqa: E402
from specmask.enhance import MaskControls  # noqa: E402
from specmask.mixing import band_limited, colored_noise, generator_for, lowpassed  # noqa: E402

NOISES = ("white", "pink")
EDGES = ("as made", "resampled", "below 7 kHz", "below 3 kHz")
LOWPASS_HZ = {"below 7 kHz": 7000.0, "below 3 kHz": 3000.0}
DOMAINS = ("speech", "instrument")


def edged(noise: torch.Tensor, edge: str) -> torch.Tensor:
    """``noise`` ``Tensor[n]`` (16 kHz) with the top edge ``edge`` (one of :data:`EDGES`)."""
    if edge == "resampled":
        return band_limited(noise)
    if edge in LOWPASS_HZ:
        return lowpassed(noise, LOWPASS_HZ[edge], 2)
    return noise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                        help="a mask-model checkpoint and its row name (repeat)")
    parser.add_argument("--per-source", type=int, default=8, help="sources of each tool (default 8)")
    parser.add_argument("--snrs", type=float, nargs="+", default=[0.0, 5.0])
    parser.add_argument("--seed", type=int, default=Q.DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        models = Q.parse_model_specs(args.model)
    except ValueError as e:
        parser.error(str(e))
    wall = time.perf_counter()
    methods = {"noisy": lambda x: x}
    for name, path in models.items():
        methods[name] = Q.model_method(load(path)[0], controls=MaskControls.for_mode("denoise"))
    with tempfile.TemporaryDirectory() as folder:
        sources, missing = Q.external_sources(Path(folder), args.per_source)
    if missing:
        print("missing: " + ", ".join(missing), file=sys.stderr)
    rows = []
    for number, source in enumerate(tqdm(sources, desc="sources", unit="source")):
        for kind in NOISES:
            noise = colored_noise(kind, source.audio.shape[0], generator_for(args.seed, number))
            for edge in EDGES:
                interferer = edged(noise, edge)
                for snr in args.snrs:
                    mixture, clean = Q.mix(source.audio, interferer, snr)
                    noisy, reference = mixture.numpy(), clean.numpy()
                    before = Q.si_sdr_db(noisy, reference)
                    for name, method in methods.items():
                        out = method(noisy.copy())
                        rows.append({"domain": source.domain, "source": source.name, "noise": kind, "edge": edge,
                                     "snr_db": snr, "method": name, "si_sdr_i": Q.si_sdr_db(out, reference) - before,
                                     "pesq": Q.pesq_wb(reference, out)})
    results = {"command": command_line(), "machine": machine_info(), "load_average": load_average(),
               "config": {"per_source": args.per_source, "snrs": args.snrs, "seed": args.seed, "models": models},
               "missing": missing, "rows": rows, "wall_s": time.perf_counter() - wall}
    json_path, md_path = write_results(args.out, "band_edge", results, markdown(results, list(methods)))
    print(md_path.read_text())
    print(f"wrote {json_path} and {md_path}")
    return 0


def markdown(results: dict, names: list[str]) -> str:
    rows = results["rows"]
    lines = ["# Mask models and the noise's top edge", "", f"Command: `{results['command']}`", "",
             f"White and pink noise at {', '.join(f'{s:g}' for s in results['config']['snrs'])} dB under every "
             "source, the noise's top edge as made (reaching 8 kHz), as after resampling a 44.1/48 kHz recording "
             "(`resampled`) and low-passed at 7 or 3 kHz (two biquads, not clipped); cells: mean SI-SDR improvement "
             "(dB) / wideband PESQ.", ""]
    for domain in DOMAINS:
        chosen = [r for r in rows if r["domain"] == domain]
        if not chosen:
            continue
        count = len({r["source"] for r in chosen})
        lines += [f"## {domain} ({count} sources)", "", "| method | " + " | ".join(EDGES) + " |",
                  "|---|" + "---:|" * len(EDGES)]
        for name in names:
            cells = []
            for edge in EDGES:
                picked = [r for r in chosen if r["method"] == name and r["edge"] == edge]
                cells.append(f"{np.mean([r['si_sdr_i'] for r in picked]):.2f} / "
                             f"{np.mean([r['pesq'] for r in picked]):.2f}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [f"Load average at the end {results['load_average']}; wall time {results['wall_s'] / 60:.1f} min; "
              f"{results['machine']['cpu_model']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
