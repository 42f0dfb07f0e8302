"""From what the client layer recorded to the request figures of each workload (``workloads.*.requests``)."""

from __future__ import annotations

from ..clients.recorder import CAUSES, CLOSES, WHOLE, ClientRecords, Pair
from ..config.scenario import Scenario
from ..model.records import RunRecords
from ..stats.histograms import LogHistogram
from .records import ClientFigures, Level, RequestFigures, Spread


def _wait_quantile(started: int, waits: LogHistogram | None, q: float) -> float | None:
    """The q-quantile of the wait over ``started`` requests, of which those in ``waits`` waited."""
    if not started:
        return None
    waited = waits.n if waits is not None else 0
    immediate = (started - waited) / started
    if waits is None or immediate >= q:
        return 0.0
    return waits.quantile((q - immediate) / (1 - immediate))


def _merged(histograms: list[LogHistogram]) -> LogHistogram | None:
    if not histograms:
        return None
    merged = LogHistogram()
    for h in histograms:
        h.flush()
        merged.counts += h.counts
        merged.total += h.total
        merged.minimum = min(merged.minimum, h.minimum)
    return merged


def _figures(rec: ClientRecords, pairs: list[Pair], span: float, idle: Pair | None = None) -> RequestFigures:
    """The figures over ``pairs``; ``idle``: the key of their summed idle level (one pair: its own)."""
    idle = pairs[0] if idle is None else idle

    def total(table: dict[Pair, int]) -> int:
        return sum(table.get(p, 0) for p in pairs)

    counts = rec.counts
    requests, retries, started = total(counts["requests"]), total(counts["retries"]), total(counts["started"])
    failures, new = total(counts["failures"]), total(counts["new_connections"])
    waits = _merged([rec.waits[p] for p in pairs if p in rec.waits])
    waited = sum(rec.wait_total.get(p, 0.0) for p in pairs)
    maxima = [rec.wait_max[p] for p in pairs if p in rec.wait_max]
    return RequestFigures(
        requests=requests,
        requests_per_s=requests / span if span > 0 else 0.0,
        completed=total(counts["completed"]),
        failures=failures,
        failure_probability=failures / requests if requests else None,
        failures_by_cause={cause: total(rec.failed_by[cause]) for cause in CAUSES},
        retries=retries,
        amplification=(requests + retries) / requests if requests else None,
        new_connections=new,
        new_connections_per_s=new / span if span > 0 else 0.0,
        reuse_ratio=started / new if new else None,
        idle_connections=Level(peak=rec.idle_peak.get(idle, 0), mean=rec.idle_mean.get(idle, 0.0)),
        pool_wait_s=Spread(
            mean=waited / started if started else None,
            p99=_wait_quantile(started, waits, 0.99),
            max=max(maxima, default=0.0) if started else None,
        ),
        closed={reason: total(rec.closed_by[reason]) for reason in CLOSES},
        waiting_at_end=total(rec.waiting),
    )


def request_figures(records: RunRecords) -> dict[int, ClientFigures]:
    """Per workload index: its request figures (request workloads, and workloads with retries)."""
    scenario: Scenario = records.scenario
    span = records.sim_time_s - records.measured_from_s
    index = {d.endpoint: j for j, d in enumerate(scenario.destinations)}
    rec = records.clients
    result: dict[int, ClientFigures] = {}
    if rec is None:
        return result
    for i in rec.workloads:
        w = scenario.workloads[i]
        pairs = {d.label: (i, index[d.endpoint]) for d in w.destinations}
        whole = _figures(rec, list(pairs.values()), span, (i, WHOLE))
        result[i] = ClientFigures(
            **whole.model_dump(),
            pool="none" if w.pool is None else w.pool.preset,
            destinations={label: _figures(rec, [pair], span) for label, pair in pairs.items()},
        )
    return result
