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
STATIONARY = ("white", "pink", "brown", "hum")


def main(model: str, domain: str = "speech") -> None:
    models = {"shipped": load(Q.DEFAULT_MODEL)[0], "speech": load(model)[0]}
    methods = {f"{name}, exponent {p:g}": Q.model_method(generator, controls=MaskControls.for_mode("denoise",
                                                                                                     exponent=p))
               for name, generator in models.items() for p in EXPONENTS}
    rows = Q.domain_sweep(methods, domain, STORED)
    Path(__file__).with_name(f"rows_{domain}.json").write_text(json.dumps(rows, default=float) + "\n")
    print(Q.sweep_table(rows, [*methods, *STORED], f"{domain}: SI-SDRi / PESQ / STOI"))
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
