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

sys.path.insert(0, ".")
from benchmarks.specmask_models import compare  # noqa: E402
from benchmarks.specmask_quality import DEFAULT_MODEL  # noqa: E402

EXPONENTS = [1.0, 1.5, 2.0]


def main(model: str, domain: str = "speech") -> None:
    rows, tables = compare({"shipped": DEFAULT_MODEL, "speech": model}, domain, EXPONENTS)
    Path(__file__).with_name(f"rows_{domain}.json").write_text(json.dumps(rows, default=float) + "\n")
    print(tables)


if __name__ == "__main__":
    main(*sys.argv[1:])
