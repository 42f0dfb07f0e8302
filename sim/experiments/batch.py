"""Batches of summary tasks: run through an executor, with completed tasks taken from and added to a cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..report.records import Summary
from .cache import TaskCache
from .executor import Executor
from .tasks import Task, run_summary

TaskProgress = Callable[[int, int], None]
"""Called with (tasks done, tasks in all): once at the start (cached tasks count as done), then per task."""


def summaries(
    tasks: Sequence[Task],
    executor: Executor | None = None,
    cache: TaskCache | None = None,
    progress: TaskProgress | None = None,
) -> list[Summary]:
    """Each task's summary, in task order; tasks found in ``cache`` are not run again."""
    executor = executor or Executor(workers=1)
    keys = [t.key for t in tasks] if cache is not None else []
    results: list[Summary | None] = [cache.get(k) for k in keys] if cache is not None else [None] * len(tasks)
    missing = [i for i, r in enumerate(results) if r is None]
    done = len(tasks) - len(missing)
    if progress is not None:
        progress(done, len(tasks))

    def finished(position: int, summary: Any) -> None:
        nonlocal done
        i = missing[position]
        results[i] = summary
        if cache is not None:
            cache.put(keys[i], summary)
        done += 1
        if progress is not None:
            progress(done, len(tasks))

    executor.map(run_summary, [tasks[i] for i in missing], finished)
    return [r for r in results if r is not None]
