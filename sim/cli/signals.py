"""How the command line stops: Ctrl-C and SIGTERM, and their exit statuses."""

from __future__ import annotations

from types import FrameType

EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Terminated(BaseException):
    """SIGTERM arrived: stop like Ctrl-C (a BaseException, so no ``except Exception`` swallows it)."""


def terminate(signum: int, frame: FrameType | None) -> None:
    """The SIGTERM handler."""
    raise Terminated
