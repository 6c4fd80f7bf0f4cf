"""``python -m autograder``: see autograder/command/cli.py."""

import sys

from .command.cli import main

sys.exit(main())
