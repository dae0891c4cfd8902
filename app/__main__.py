"""`python -m dep_emulator`: the same command line as `dep-emulator`."""

import sys

from .cli import main

sys.exit(main())
