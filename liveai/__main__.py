"""`python -m liveai` is the `liveai` command."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while importing: as quiet as one later (cli.main)
    sys.exit(130)

sys.exit(main())
