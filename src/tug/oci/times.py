"""Times as the OCI specs and docker write them: RFC 3339, UTC, a `Z` suffix."""

from __future__ import annotations

import time


def now_rfc3339() -> str:
    """UTC now with nanoseconds, as Go writes times (docker's `Created`, its json-file logs, a runtime's state).
    With `time` rather than `datetime`, whose import every command would pay for this one call."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 1_000_000_000)) + f".{ns % 1_000_000_000:09d}Z"
