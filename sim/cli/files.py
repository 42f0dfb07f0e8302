"""Files the command line writes whole: written beside their place, then moved there."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..config.errors import ScenarioError, shown


def write_atomic(out: Path, lines: Iterable[str], encoding: str = "utf-8") -> None:
    """Write ``lines`` to ``out`` through a temporary file beside it: an interrupted run leaves no half file.

    A file that cannot be written is a ScenarioError naming it (one line).
    """
    folder = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=out.suffix, dir=folder)
    except OSError as exc:
        raise ScenarioError(f"{shown(str(out))}: cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding=encoding) as fh:
            fh.writelines(lines)
        os.replace(tmp, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ScenarioError(f"{shown(str(out))}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
