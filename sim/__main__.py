"""``python -m sim``: the portsim command line."""

import sys

from .cli.entry import main

sys.exit(main())
