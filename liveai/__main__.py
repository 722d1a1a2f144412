"""`python -m liveai` is the `liveai` command."""

import sys

from .cli import main

sys.exit(main())
