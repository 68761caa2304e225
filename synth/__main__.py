"""``python -m synth``: see :mod:`synth.cli`; the installation is checked first
(:mod:`synth.install_check`: a broken install exits with status 3 and says how to fix it)."""

from synth.install_check import run_checked


def main() -> int:
    return run_checked("synth.cli")


if __name__ == "__main__":
    raise SystemExit(main())
