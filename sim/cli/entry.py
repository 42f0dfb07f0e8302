"""The ``portsim`` entry point: signals are handled before the heavy imports, so stopping early is clean."""

from __future__ import annotations

import signal
import sys

from .signals import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, terminate


def main() -> int:
    """Entry point of ``portsim`` and ``python -m sim``."""
    signal.signal(signal.SIGTERM, terminate)
    try:
        from .main import main as run
    except KeyboardInterrupt:
        print("portsim: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("portsim: terminated", file=sys.stderr)
        return EXIT_TERMINATED
    return run()
