"""The typed records of remedies.json: each standard fix, what it changes, and the capacity it gives."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .capacity import CapacityReport
from .records import Number, Record, _finite


class Blocking(Record):
    """Blocking probability at the scenario's own load: mean over replications and its 95% interval."""

    mean: Number | None
    ci95: tuple[Number, Number] | None
    replications: int


class Remedy(Record):
    """One fix (or ``as-is``, the scenario unchanged)."""

    name: str
    description: str
    applies: bool
    reason: str = ""
    """Why the fix does not apply (empty when it does)."""
    changes: dict[str, Any] = Field(default_factory=dict)
    capacity: CapacityReport | None = None
    blocking_at_load: Blocking | None = None
    gain: Number | None = None
    """Capacity with the fix over capacity as-is."""
    source: str = ""


class RemediesReport(Record):
    """remedies.json: the scenario as it is and with each fix on its own, ranked by capacity."""

    scenario: str
    seed: int
    version: str
    target: Number
    destination: str | None
    workloads: list[str]
    load: Number
    """Arrivals per second (``unit``) of the scaled workloads as the scenario has them."""
    unit: str = "conn/s"
    """What the rates count: ``conn/s``, ``req/s`` or ``arrivals/s`` (as in CapacityReport)."""
    remedies: list[Remedy]
    """``as-is`` first, then the fixes that apply by capacity (largest first), then those that do not."""

    def to_json(self) -> dict[str, Any]:
        """The remedies.json form (NaN and infinities as null)."""
        data: dict[str, Any] = _finite(self.model_dump(mode="json"))
        return data
