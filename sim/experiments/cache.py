"""The task cache: summaries of completed tasks under a results folder, so that a rerun does only what is missing."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from ..report.records import Summary


class TaskCache:
    """Summaries by task key, one JSON file each, written as tasks complete."""

    def __init__(self, folder: Path, read: bool = True) -> None:
        """``read=False`` (``--fresh``): every task is run again, and its entry written anew."""
        self.folder = folder
        self.read = read

    @classmethod
    def of(cls, cache: str | Path | TaskCache | None) -> TaskCache | None:
        """A cache from a folder path (or the cache itself); None for none."""
        if cache is None or isinstance(cache, TaskCache):
            return cache
        return cls(Path(cache))

    def get(self, key: str) -> Summary | None:
        """The cached summary of a task, or None (also for an unreadable or damaged entry)."""
        if not self.read:
            return None
        try:
            return Summary.model_validate_json((self.folder / f"{key}.json").read_bytes())
        except (OSError, ValueError, ValidationError):
            return None

    def put(self, key: str, summary: Summary) -> None:
        """Store a task's summary (atomically: an interrupted write leaves no entry)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(summary.model_dump_json().encode())
            os.replace(tmp, self.folder / f"{key}.json")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def count(self) -> int:
        """Entries in the cache."""
        try:
            return sum(1 for p in self.folder.glob("*.json"))
        except OSError:
            return 0
