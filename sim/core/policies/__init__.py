"""Port allocation policies, registered by name: ``POLICIES["linux"]``, ``make_policy({"name": ...})``.

Importing this package registers every built-in policy.
"""

from . import hashed, linux, simple
from .base import (
    POLICIES,
    Layout,
    Policy,
    PortSpace,
    make_policy,
    offset_of,
    policy_params,
    register,
    slot_of,
    split_policy,
)
from .scans import parity_segments, scan_down_from, scan_from, scan_segments

__all__ = [
    "POLICIES",
    "Layout",
    "Policy",
    "PortSpace",
    "hashed",
    "linux",
    "make_policy",
    "offset_of",
    "parity_segments",
    "policy_params",
    "register",
    "scan_down_from",
    "scan_from",
    "scan_segments",
    "simple",
    "slot_of",
    "split_policy",
]
