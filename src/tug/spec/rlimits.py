"""process.rlimits from --ulimit: docker's syntax, never above the host's hard limit."""

from __future__ import annotations

from tug.errors import Invalid
from tug.spec.host import RLIM_INFINITY

NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
         "rttime", "sigpending", "stack")


def parse_ulimit(text: str) -> tuple[str, int, int]:
    """`name=soft[:hard]` -> (name, soft, hard); -1 means unlimited; hard defaults to soft."""
    name, eq, vals = text.partition("=")
    if not eq:
        raise Invalid(f"invalid ulimit argument: {text}")
    if name not in NAMES:
        raise Invalid(f"invalid ulimit type: {name}")
    parts = vals.split(":")
    if len(parts) > 2:
        raise Invalid(f"too many limit value arguments - {vals}, can only have up to two, `soft[:hard]`")
    try:
        soft = int(parts[0])
        hard = int(parts[1]) if len(parts) == 2 else soft
    except ValueError:
        raise Invalid(f"invalid ulimit argument: {text}: limits must be integers") from None
    if hard != -1:
        if soft == -1:
            raise Invalid(f"ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), "
                          f"hard: {hard}")
        if soft > hard:
            raise Invalid(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return name, soft, hard


def _u64(v: int) -> int:
    return RLIM_INFINITY if v < 0 else v


def build_rlimits(values: list[str], host_hard: dict[str, int]) -> list[dict[str, object]]:
    """Explicit --ulimit values only (docker sets no others: the container inherits the runtime's). A request
    above the host's hard limit is refused rather than silently clamped."""
    by_type: dict[str, dict[str, object]] = {}
    for v in values:
        name, soft, hard = parse_ulimit(v)
        rtype = "RLIMIT_" + name.upper()
        soft_u, hard_u = _u64(soft), _u64(hard)
        limit = host_hard.get(rtype)
        if limit is not None:
            limit = _u64(limit)
            if hard_u > limit:
                shown = "unlimited" if hard_u == RLIM_INFINITY else str(hard_u)
                raise Invalid(f"ulimit {name}: hard limit {shown} above the host's {limit}")
        by_type[rtype] = {"type": rtype, "hard": hard_u, "soft": soft_u}
    return list(by_type.values())
