"""The task cache and batches: exact round trips, keys that see every input, reruns that do only what is missing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sim.config.scenario import Scenario
from sim.experiments.batch import summaries
from sim.experiments.cache import TaskCache
from sim.experiments.executor import Executor
from sim.experiments.tasks import Task, run_summary


def test_a_summary_comes_back_from_the_cache_exactly(make_scenario: Callable[..., Scenario], tmp_path: Path) -> None:
    summary = run_summary(Task(make_scenario(), 0))
    cache = TaskCache(tmp_path / "cache")
    cache.put("k", summary)
    assert cache.get("k") == summary
    assert cache.count() == 1
    assert TaskCache(tmp_path / "cache", read=False).get("k") is None


def test_damaged_entries_are_misses(make_scenario: Callable[..., Scenario], tmp_path: Path) -> None:
    cache = TaskCache(tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    assert cache.get("bad") is None
    assert cache.get("absent") is None


def test_keys_see_the_scenario_seed_and_replication_but_not_the_replication_count(
    make_scenario: Callable[..., Scenario],
) -> None:
    base = make_scenario()
    key = Task(base, 0).key
    assert Task(base, 1).key != key
    assert Task(base.with_changes(seed=6), 0).key != key
    assert Task(base.with_changes({"host.time_wait": 3.0}), 0).key != key
    assert Task(base.with_changes(replications=5), 0).key == key
    assert Task(make_scenario(), 0).key == key


def test_a_rerun_runs_only_what_is_missing(make_scenario: Callable[..., Scenario], tmp_path: Path) -> None:
    scenario = make_scenario()
    tasks = [Task(scenario, r) for r in range(4)]
    cache = TaskCache(tmp_path)
    first = summaries(tasks[:2], Executor(workers=1), cache)
    seen: list[tuple[int, int]] = []
    second = summaries(tasks, Executor(workers=1), cache, lambda done, total: seen.append((done, total)))
    assert seen[0] == (2, 4)  # two came from the cache
    assert seen[-1] == (4, 4)
    assert second[:2] == first
    fresh = summaries(tasks, Executor(workers=1))
    assert [s.model_dump(exclude={"wall_time_s"}) for s in second] == [
        s.model_dump(exclude={"wall_time_s"}) for s in fresh
    ]
    assert cache.count() == 4
