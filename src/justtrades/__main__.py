"""`python -m justtrades`: the same command as `justtrades`."""

import sys

from justtrades.cli import main

sys.exit(main())
