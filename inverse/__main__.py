import sys

from inverse.cli import main

sys.exit(main())
