"""A mask model fine-tuned on speech against the shipped one, on the speech mixtures of
`benchmarks/specmask_quality.py` (the same 128: 16 speech sources x 4 SNRs x a stationary and a non-stationary
interferer, seed 3), each at `--exponent` 1 and 1.5 (and 2), beside that benchmark's stored rows of DeepFilterNet3
and RNNoise on the same mixtures, and PESQ by interferer kind;
with a domain argument (`instrument`, `synth`) on that domain's mixtures, for what
the speech model does to other sounds. Run from the repository root:

    python benchmarks/results/specmask_speech/speech_model.py MODEL [DOMAIN] > .../table_DOMAIN.md

Every row (mixture x method, with its interferer) is written to `rows_DOMAIN.json` beside this script.

The shipped model's row at exponent 1 must equal the stored `specmask` rows: that checks that the mixtures are the
benchmark's."""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, ".")
sys.path.insert(0, "benchmarks")
import specmask_quality as Q  # noqa: E402

from specmask.checkpoint import load  # noqa: E402
from specmask.enhance import MaskControls  # noqa: E402

EXPONENTS = (1.0, 1.5, 2.0)
STORED = {"specmask (stored run)": "specmask", "DeepFilterNet3 (stored run)": "deepfilternet3",
          "RNNoise (stored run)": "rnnoise"}
METRICS = ("si_sdr_i", "pesq", "stoi")
STATIONARY = ("white", "pink", "brown", "hum")


def main(model: str, domain: str = "speech") -> None:
    models = {"shipped": load(Q.DEFAULT_MODEL)[0], "speech": load(model)[0]}
    sources = Q.synth_sources(40, Q.DEFAULT_SEED)[0]  # first, so that every source keeps its number (noise stream)
    with tempfile.TemporaryDirectory() as folder:
        external, missing = Q.external_sources(Path(folder), 8)
        bank = Q.NoiseBank(Path(folder) / "noise")
    if missing:
        raise SystemExit(f"missing: {missing}")
    mixtures = [m for m in Q.build_mixtures(sources + external, [-5.0, 0.0, 5.0, 10.0], Q.DEFAULT_SEED, bank)
                if m.domain == domain]
    methods = {f"{name}, exponent {p:g}": Q.model_method(generator, controls=MaskControls.for_mode("denoise",
                                                                                                     exponent=p))
               for name, generator in models.items() for p in EXPONENTS}
    rows = Q.evaluate(mixtures, methods, {}, progress=False)
    stored = json.loads(Path("benchmarks/results/specmask_quality.json").read_text())["rows"]
    key = lambda r: (r["source"], r["interferer"], r["snr_db"])  # noqa: E731
    keys = {key(r) for r in rows}
    for name, stored_name in STORED.items():
        rows += [{**r, "method": name} for r in stored if r["method"] == stored_name and key(r) in keys]
    Path(__file__).with_name(f"rows_{domain}.json").write_text(json.dumps(rows, default=float) + "\n")
    print(f"| {domain}: SI-SDRi / PESQ / STOI | " + " | ".join(f"{noise}, {snr:g} dB" for noise in
                                                               ("stationary", "non-stationary")
                                                               for snr in (-5, 0, 5, 10)) + " |")
    print("|---|" + "---:|" * 8)
    for name in [*methods, *STORED]:
        cells = []
        for noise in ("stationary", "non-stationary"):
            for snr in (-5.0, 0.0, 5.0, 10.0):
                chosen = [r for r in rows if r["method"] == name and r["noise"] == noise and r["snr_db"] == snr]
                cells.append(" / ".join(f"{np.nanmean([r[m] for r in chosen]):.{1 if m == 'si_sdr_i' else 2}f}"
                                        for m in METRICS))
        print(f"| {name} | " + " | ".join(cells) + " |")
    kinds = sorted({r["interferer"] for r in rows}, key=lambda k: (k not in STATIONARY, k))
    print(f"\n| {domain}: PESQ by interferer, -5 / 0 / 5 / 10 dB (sources) | " + " | ".join(kinds) + " |")
    print("|---|" + "---:|" * len(kinds))
    for name in [*methods, *STORED]:
        cells = []
        for kind in kinds:
            chosen = [[r["pesq"] for r in rows
                       if r["method"] == name and r["interferer"] == kind and r["snr_db"] == snr]
                      for snr in (-5.0, 0.0, 5.0, 10.0)]
            cells.append(" / ".join(f"{np.nanmean(c):.2f}" for c in chosen) + f" ({len(chosen[0])})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:])
