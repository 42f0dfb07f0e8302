"""The base of every validated scenario entry, and the units and bounds shared by them.

Units: seconds and connections per second. Every number is finite and bounded, so that no value a
file may hold can overflow the arithmetic of a run (``MAX_SECONDS``).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_SECONDS = 1e9
"""The longest time any scenario value may give (about 31.7 years)."""
MAX_RATE = 1e9
"""The highest rate any scenario value may give, in connections per second."""

PositiveSeconds = Annotated[float, Field(gt=0, le=MAX_SECONDS, allow_inf_nan=False)]
NonNegativeSeconds = Annotated[float, Field(ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
Rate = Annotated[float, Field(gt=0, le=MAX_RATE, allow_inf_nan=False, description="connections per second")]


class KeyedError(ValueError):
    """A cross-field problem that belongs to one key: validation errors then point at that key's line."""

    def __init__(self, key: str | tuple[str | int, ...], message: str, also: tuple[str, ...] = ()) -> None:
        """``also``: sibling keys the problem involves too (an override of one of them is blamed first)."""
        super().__init__(message)
        self.key: tuple[str | int, ...] = (key,) if isinstance(key, str) else key
        self.also = also


class Spec(BaseModel):
    """A frozen, strictly validated scenario entry whose ``repr`` reads like the call."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    def __repr__(self) -> str:
        args = ", ".join(
            f"{name}={value!r}" for name, value in self.__dict__.items() if name != "kind" and value is not None
        )
        return f"{type(self).__name__}({args})"

    __str__ = __repr__
