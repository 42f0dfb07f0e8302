"""``python -m sim``: the portsim command line."""

import sys

from .cli.main import main

sys.exit(main())
