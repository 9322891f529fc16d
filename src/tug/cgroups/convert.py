"""The arithmetic between OCI's (cgroup v1 shaped) numbers and cgroup v2's files. Pure functions."""

from __future__ import annotations

from tug.errors import Invalid

SHARES_MIN, SHARES_MAX = 2, 262144  # kernel MIN_SHARES / MAX_SHARES (1 << 18)
WEIGHT_MIN, WEIGHT_MAX = 1, 10000


def shares_to_weight(shares: int) -> int:
    """cpu.shares [2..262144] -> cpu.weight [1..10000]; 0 means unset and stays 0.

    The mapping current runc and crun use: a quadratic in log2(shares) through (2, 1), (1024, 100) and
    (262144, 10000), so the default 1024 shares lands on the default weight 100 (the older linear formula gave 39).
    """
    if shares == 0:
        return 0
    if shares <= SHARES_MIN:
        return WEIGHT_MIN
    if shares >= SHARES_MAX:
        return WEIGHT_MAX
    import math  # lazily: math is a shared object, off the runtime's path unless shares are set on v2

    l2 = math.log2(shares)
    return min(WEIGHT_MAX, math.ceil(10 ** ((l2 * l2 + 125 * l2) / 612.0 - 7.0 / 34.0)))


def weight_to_shares(weight: int) -> int:
    """The inverse of `shares_to_weight` (rounded), for reporting v2 weights as docker's CpuShares."""
    if weight == 0:
        return 0
    if weight <= WEIGHT_MIN:
        return SHARES_MIN
    if weight >= WEIGHT_MAX:
        return SHARES_MAX
    # solve l^2 + 125 l - 612 (log10(w) + 7/34) = 0 for l = log2(shares)
    import math

    c = 612.0 * (math.log10(weight) + 7.0 / 34.0)
    l2 = (-125.0 + math.sqrt(125.0 * 125.0 + 4.0 * c)) / 2.0
    return max(SHARES_MIN, min(SHARES_MAX, round(2**l2)))


def blkio_weight_to_io_weight(weight: int) -> int:
    """blkio.weight [10..1000] -> io.weight [1..10000] (linear, as runc); 0 means unset."""
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def swap_for_v2(swap: int | None, limit: int | None) -> int | None:
    """OCI memory.swap is memory+swap (v1's memsw); v2's memory.swap.max is swap alone.

    Returns the memory.swap.max value, -1 for "max", or None to leave it alone.
    """
    if swap is None or swap == 0:
        return -1 if limit == -1 else None
    if swap == -1:
        return -1
    if limit is None or limit in (0, -1):
        raise Invalid("a memory+swap limit needs a memory limit", where="linux.resources.memory.swap")
    if swap < limit:
        raise Invalid(f"memory+swap limit {swap} is below the memory limit {limit}",
                      where="linux.resources.memory.swap")
    return swap - limit


def max_or(value: int) -> str:
    """-1 (and any negative) -> "max", else the decimal number: how v2 files spell unlimited."""
    return "max" if value < 0 else str(value)


def v2_cpu_max(quota: int | None, period: int | None) -> str | None:
    """cpu.max's "QUOTA PERIOD" from OCI quota/period (quota <= 0 or absent with a period -> "max PERIOD")."""
    if not quota and not period:
        return None
    text = str(quota) if quota and quota > 0 else "max"
    if period:
        text += f" {period}"
    return text
