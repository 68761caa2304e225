"""``python -m webapp``: see :mod:`webapp.cli`; the installation is checked first (:mod:`synth.install_check`)."""

from synth.install_check import run_checked


def main() -> int:
    return run_checked("webapp.cli")


if __name__ == "__main__":
    raise SystemExit(main())
