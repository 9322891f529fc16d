"""linux.resources (memory, cpu, pids, blockIO) from the resource flags, with docker's checks and defaults."""

from __future__ import annotations

import re

from tug.errors import Invalid
from tug.spec.options import RunOptions
from tug.spec.sizes import ram_in_bytes, swap_in_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MIN_MEMORY = 6 * 1024 * 1024
CFS_PERIOD = 100_000
_CPUSET = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def nano_cpus(text: str) -> int:
    """--cpus as docker reads it: a decimal number of CPUs, at most 9 decimals."""
    from fractions import Fraction  # only when --cpus is given

    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise Invalid(f"invalid argument {text!r} for \"--cpus\" flag: failed to parse {text} as a rational number") \
            from None
    nano = value * 1_000_000_000
    if nano.denominator != 1:
        raise Invalid(f"invalid argument {text!r} for \"--cpus\" flag: value is too precise")
    return int(nano)


def _cpuset(text: str, flag: str) -> str:
    if not _CPUSET.match(text):
        raise Invalid(f"invalid value {text} for {flag}")
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        if hi and int(hi) < int(lo):
            raise Invalid(f"invalid value {text} for {flag}")
    return text


def memory_resources(opts: RunOptions) -> dict[str, Any] | None:
    memory = ram_in_bytes(opts.memory, "--memory") if opts.memory else 0
    swap = swap_in_bytes(opts.memory_swap) if opts.memory_swap else 0
    reservation = ram_in_bytes(opts.memory_reservation, "--memory-reservation") if opts.memory_reservation else 0
    if memory and memory < MIN_MEMORY:
        raise Invalid("Minimum memory limit allowed is 6MB")
    if memory > 0 and swap == 0:
        swap = memory * 2  # docker's default: as much swap as memory
    if memory > 0 and swap > 0 and swap < memory:
        raise Invalid("Minimum memoryswap limit should be larger than memory limit, see usage")
    if memory == 0 and swap > 0:
        raise Invalid("You should always set the Memory limit when using Memoryswap limit, see usage")
    if reservation and reservation < MIN_MEMORY:
        raise Invalid("Minimum memory reservation allowed is 6MB")
    if memory and reservation and memory < reservation:
        raise Invalid("Minimum memory limit can not be less than memory reservation limit, see usage")
    out: dict[str, Any] = {}
    if memory:
        out["limit"] = memory
    if reservation:
        out["reservation"] = reservation
    if swap > 0 or (swap == -1 and memory):
        out["swap"] = swap
    if opts.memory_swappiness is not None and opts.memory_swappiness != -1:
        if not 0 <= opts.memory_swappiness <= 100:
            raise Invalid(f"invalid value: {opts.memory_swappiness}, valid memory swappiness range is 0-100")
        out["swappiness"] = opts.memory_swappiness
    if opts.oom_kill_disable:
        out["disableOOMKiller"] = True
    return out or None


def v1_only(opts: RunOptions) -> list[tuple[str, str, str]]:
    """The flags given that only cgroup v1 has a file for, as (flag, controller, file): the engine refuses them on
    a v2 host, or where the v1 controller lacks the file (no RT group scheduling, for example)."""
    out = []
    if opts.memory_swappiness is not None and opts.memory_swappiness != -1:
        out.append(("--memory-swappiness", "memory", "memory.swappiness"))
    if opts.oom_kill_disable:
        out.append(("--oom-kill-disable", "memory", "memory.oom_control"))
    if opts.cpu_rt_period:
        out.append(("--cpu-rt-period", "cpu", "cpu.rt_period_us"))
    if opts.cpu_rt_runtime:
        out.append(("--cpu-rt-runtime", "cpu", "cpu.rt_runtime_us"))
    return out


def cpu_resources(opts: RunOptions, cpu_count: int | None) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if opts.cpu_shares:
        if opts.cpu_shares < 0:
            raise Invalid(f"invalid CPU shares ({opts.cpu_shares}): value must be a positive integer")
        out["shares"] = opts.cpu_shares
    if opts.cpus:
        nano = nano_cpus(opts.cpus)
        if nano < 0 or (cpu_count is not None and nano > cpu_count * 1_000_000_000):
            n = cpu_count if cpu_count is not None else 0
            raise Invalid(f"range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available")
        if nano:
            out["period"] = CFS_PERIOD
            out["quota"] = nano * CFS_PERIOD // 1_000_000_000
    if opts.cpu_period or opts.cpu_quota:
        if opts.cpus:
            raise Invalid("Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set")
        if opts.cpu_period and not 1000 <= opts.cpu_period <= 1_000_000:
            raise Invalid("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
        if opts.cpu_quota and 0 < opts.cpu_quota < 1000:
            raise Invalid("CPU cfs quota can not be less than 1ms (i.e. 1000)")
        if opts.cpu_period:
            out["period"] = opts.cpu_period
        if opts.cpu_quota:
            out["quota"] = opts.cpu_quota
    if opts.cpu_rt_period or opts.cpu_rt_runtime:
        if opts.cpu_rt_period and opts.cpu_rt_runtime and opts.cpu_rt_runtime > opts.cpu_rt_period:
            raise Invalid("cpu-rt-runtime cannot be higher than cpu-rt-period")
        if opts.cpu_rt_period:
            out["realtimePeriod"] = opts.cpu_rt_period
        if opts.cpu_rt_runtime:
            out["realtimeRuntime"] = opts.cpu_rt_runtime
    if opts.cpuset_cpus:
        out["cpus"] = _cpuset(opts.cpuset_cpus, "--cpuset-cpus")
    if opts.cpuset_mems:
        out["mems"] = _cpuset(opts.cpuset_mems, "--cpuset-mems")
    return out or None


THROTTLES = (("device_read_bps", "throttleReadBpsDevice", True), ("device_write_bps", "throttleWriteBpsDevice", True),
             ("device_read_iops", "throttleReadIOPSDevice", False),
             ("device_write_iops", "throttleWriteIOPSDevice", False))


def throttle_devices(opts: RunOptions, device_info: dict[str, tuple[str, int, int, int, int, int]]) -> dict[str, Any]:
    """--device-{read,write}-{bps,iops} PATH:RATE -> blockIO throttle lists (rates in bytes or IO per second)."""
    out: dict[str, Any] = {}
    for attr, key, is_bytes in THROTTLES:
        flag = "--" + attr.replace("_", "-")
        for spec in getattr(opts, attr) or []:
            path, sep, rate_text = spec.rpartition(":")
            if not sep or not path.startswith("/"):
                raise Invalid(f"invalid argument {spec!r} for {flag}: expected PATH:RATE")
            try:
                rate = ram_in_bytes(rate_text, flag) if is_bytes else int(rate_text)
            except ValueError:
                raise Invalid(f"invalid argument {spec!r} for {flag}: invalid rate {rate_text!r}") from None
            if rate < 0:
                raise Invalid(f"invalid argument {spec!r} for {flag}: the rate must be positive")
            info = device_info.get(path)
            if info is None or info[0] != "b":
                raise Invalid(f"invalid argument {spec!r} for {flag}: {path} is not a block device")
            out.setdefault(key, []).append({"major": info[1], "minor": info[2], "rate": rate})
    return out


def weight_devices(specs: list[str], device_info: dict[str, tuple[str, int, int, int, int, int]]) -> list[dict]:
    """--blkio-weight-device PATH:WEIGHT (10..1000) -> blockIO.weightDevice entries."""
    out = []
    for spec in specs:
        path, sep, text = spec.rpartition(":")
        if not sep or not path.startswith("/") or not text.isdigit():
            raise Invalid(f"invalid argument {spec!r} for --blkio-weight-device: expected PATH:WEIGHT")
        if not 10 <= int(text) <= 1000:
            raise Invalid(f"invalid weight for device: {text}: the weight must be between 10 and 1000")
        info = device_info.get(path)
        if info is None or info[0] != "b":
            raise Invalid(f"invalid argument {spec!r} for --blkio-weight-device: {path} is not a block device")
        out.append({"major": info[1], "minor": info[2], "weight": int(text)})
    return out


def build_resources(opts: RunOptions, cpu_count: int | None, devices: list[dict[str, Any]],
                    device_info: dict[str, tuple[str, int, int, int, int, int]] | None = None) -> dict[str, Any]:
    from tug.spec.devices import parse_cgroup_rule

    res: dict[str, Any] = {"devices": [*devices, *(parse_cgroup_rule(r) for r in opts.device_cgroup_rules)]}
    mem = memory_resources(opts)
    if mem:
        res["memory"] = mem
    cpu = cpu_resources(opts, cpu_count)
    if cpu:
        res["cpu"] = cpu
    if opts.pids_limit is not None:
        res["pids"] = {"limit": opts.pids_limit if opts.pids_limit > 0 else -1}
    if opts.blkio_weight:
        if not 10 <= opts.blkio_weight <= 1000:
            raise Invalid("Range of blkio weight is from 10 to 1000")
        res["blockIO"] = {"weight": opts.blkio_weight}
    weights = weight_devices(opts.blkio_weight_device, device_info or {})
    if weights:
        res.setdefault("blockIO", {})["weightDevice"] = weights
    throttles = throttle_devices(opts, device_info or {})
    if throttles:
        res.setdefault("blockIO", {}).update(throttles)
    return res
