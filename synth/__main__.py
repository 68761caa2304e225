"""``python -m synth``: see :mod:`synth.cli`."""

from synth.cli import main

raise SystemExit(main())
