"""`python -m dep_emulator.cli`."""

import sys

from . import main

sys.exit(main())
