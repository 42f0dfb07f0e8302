"""``python -m sim``: the portsim command line."""

import sys

from .cli import main

sys.exit(main())
