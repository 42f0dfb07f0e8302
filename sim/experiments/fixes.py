"""The standard fixes for port exhaustion, registered by name: each turns a scenario into its remedied form.

The host's (``host_fixes``) come first, then the translator's (``nat_fixes``): ``FIXES`` holds them all, in
the order ``portsim remedies`` tries them.
"""

from __future__ import annotations

from . import host_fixes, nat_fixes
from .fix import FIXES, Fix, NotApplicableError, register_fix

LAYERS = (host_fixes, nat_fixes)
"""The modules whose fixes are registered, host first."""


def fix(name: str) -> Fix:
    """A registered fix by name."""
    return FIXES[name]()


__all__ = ["FIXES", "LAYERS", "Fix", "NotApplicableError", "fix", "register_fix"]
