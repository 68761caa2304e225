import sys

from specmask.cli import main

sys.exit(main())
