"""The ``specmask`` command. The mask model is not built yet: the command says so instead of failing
with an import error, and its real subcommands (train, enhance) arrive with the model."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="specmask", description="Spectral-masking CNN-GAN (noise reduction, "
                                     "separation, enhancement) on the inverse model's backbone. Not built yet: "
                                     "no subcommands are available in this version.")
    parser.parse_args(argv)
    print("error: specmask has no commands yet in this version (the mask model is planned; see README)",
          file=sys.stderr)
    return 2
