"""What a fix for port exhaustion is, and the registry ``portsim remedies`` tries them from.

A fix says which keys it changes for a given scenario, or why it does not apply to it. Each layer's fixes
live in a module of their own (``host_fixes``, ``nat_fixes``) and register with ``@register_fix``;
``fixes`` gathers them all.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..config.scenario import Scenario


class NotApplicableError(Exception):
    """The fix does not apply to this scenario; the message says why (one line)."""


class Fix:
    """A remedy: a named change to a scenario."""

    name: ClassVar[str]
    description: ClassVar[str]
    source: ClassVar[str] = ""
    """Where the fix is documented."""

    def changes(self, scenario: Scenario) -> dict[str, Any]:
        """The ``key.path: value`` overrides that apply the fix; raises NotApplicableError with the reason."""
        raise NotImplementedError

    def describe(self, scenario: Scenario) -> str:
        """What the fix does on ``scenario``'s hosts (by default ``description``; a fix whose setting has another
        name on another OS names each)."""
        return self.description


FIXES: dict[str, type[Fix]] = {}
"""Every fix by name, in the order ``portsim remedies`` tries them."""


def register_fix(cls: type[Fix]) -> type[Fix]:
    """Class decorator: add a fix to the list ``portsim remedies`` tries."""
    FIXES[cls.name] = cls
    return cls
