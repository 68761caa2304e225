"""Does a mask control trade SI-SDR for PESQ on speech? `specmask enhance`'s `--floor`, `--strength` and `--exponent` on
the speech mixtures of `benchmarks/specmask_quality.py` (the same 128: 16 speech sources x 4 SNRs x a stationary and a
non-stationary interferer, seed 3), beside that benchmark's stored rows of DeepFilterNet3 and RNNoise on the same
mixtures; with a domain argument (`instrument`, `synth`) the default and the exponents on that domain's mixtures, for
what they cost there. Run from the repository root:

    python benchmarks/results/specmask_controls/controls_sweep.py > benchmarks/results/specmask_controls/table.md
    python benchmarks/results/specmask_controls/controls_sweep.py instrument > .../table_instrument.md

The row with the default controls (floor 0, strength 1) must equal the stored `specmask` rows: that checks that the
mixtures are the benchmark's."""

import sys

sys.path.insert(0, ".")
sys.path.insert(0, "benchmarks")
import specmask_quality as Q  # noqa: E402

from specmask.checkpoint import load  # noqa: E402
from specmask.enhance import MaskControls  # noqa: E402

VARIANTS = {"default (floor 0, strength 1)": {}, "floor 0.05": {"floor": 0.05}, "floor 0.1": {"floor": 0.1},
            "floor 0.18": {"floor": 0.18}, "strength 0.8": {"strength": 0.8}, "strength 1.2": {"strength": 1.2},
            "strength 1.4": {"strength": 1.4}, "strength 1.7": {"strength": 1.7}, "strength 2.0": {"strength": 2.0},
            "exponent 1.5": {"exponent": 1.5}, "exponent 2": {"exponent": 2.0}, "exponent 3": {"exponent": 3.0}}
ELSEWHERE = ("default (floor 0, strength 1)", "exponent 1.5", "exponent 2", "exponent 3")  # on the other domains


def main(domain: str = "speech") -> None:
    variants = VARIANTS if domain == "speech" else {name: VARIANTS[name] for name in ELSEWHERE}
    generator, _ = load(Q.DEFAULT_MODEL)
    methods = {name: Q.model_method(generator, controls=MaskControls.for_mode("denoise", **controls))
               for name, controls in variants.items()}
    rows = Q.domain_sweep(methods, domain)
    print(Q.sweep_table(rows, [*variants, *Q.STORED_ANCHORS], domain))


if __name__ == "__main__":
    main(*sys.argv[1:])
