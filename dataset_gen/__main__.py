"""``python -m dataset_gen``: see :mod:`dataset_gen.cli`."""

from dataset_gen.cli import main

raise SystemExit(main())
