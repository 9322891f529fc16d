"""`tug stats`: one row per running container with docker's numbers (CPU %, memory, network and block I/O, pids).

CPU % is the container's cgroup CPU time over a wall-clock window, in percent of one CPU (docker's
cpu_delta / system_delta * online_cpus * 100 amounts to the same). MEM USAGE leaves out inactive file pages, as
docker does; the LIMIT is the cgroup's limit or the host's memory. NET I/O sums the container's network namespace
interfaces other than loopback (read through /proc/PID/net/dev), BLOCK I/O is the cgroup's io/blkio counters.
"""

from __future__ import annotations

import time
from typing import Any

from tug.engine import lifecycle
from tug.engine.containers import Container, find, list_containers
from tug.engine.engine import Engine
from tug.engine.humanize import human_size
from tug.errors import TugError


class Sample:
    """One reading of one container."""

    def __init__(self, ctr: Container, at: float, cpu_ns: int, mem: int, limit: int, net: tuple[int, int],
                 blk: tuple[int, int], pids: int) -> None:
        self.ctr, self.at, self.cpu_ns, self.mem, self.limit = ctr, at, cpu_ns, mem, limit
        self.net, self.blk, self.pids = net, blk, pids


def host_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def net_dev(text: str) -> tuple[int, int]:
    """/proc/PID/net/dev -> (received, transmitted) bytes over every interface but lo."""
    rx = tx = 0
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        fields = rest.split()
        if name.strip() == "lo" or len(fields) < 9:
            continue
        rx += int(fields[0])
        tx += int(fields[8])
    return rx, tx


def sample(ctr: Container, mem_total: int) -> Sample | None:
    """A reading of a running container, None when it is not running (or stopped while we read)."""
    from tug.cgroups.manager import for_host

    pid = int(ctr.state.get("Pid") or 0)
    if ctr.status not in ("running", "paused") or pid <= 0:
        return None
    try:
        st = for_host().of_process(pid).stats()
    except (TugError, OSError):
        return None
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            net = net_dev(f.read())
    except OSError:
        net = (0, 0)
    limit = st.memory_limit if st.memory_limit and (not mem_total or st.memory_limit < mem_total) else mem_total
    return Sample(ctr, time.monotonic(), st.cpu_usage_ns, st.memory_usage_no_cache, limit, net,
                  (st.blkio_read_bytes, st.blkio_write_bytes), st.pids_current)


def selected(eng: Engine, refs: list[str], all_: bool = False) -> list[Container]:
    if refs:
        named = [find(eng, r) for r in refs]  # NotFound names the first unknown one
        for ctr in named:
            lifecycle.refresh(eng, ctr)
        return named
    out = []
    for ctr in list_containers(eng):
        lifecycle.refresh(eng, ctr)
        if all_ or ctr.status in ("running", "paused"):
            out.append(ctr)
    return out


def take(ctrs: list[Container]) -> dict[str, Sample | None]:
    mem_total = host_memory()
    return {c.id: sample(c, mem_total) for c in ctrs}


def binary_size(n: float) -> str:
    """go-units BytesSize: binary units, %.4g ("1.504MiB")."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024.0
        i += 1
    return f"{n:.4g}{units[i]}"


def row(ctr: Container, before: Sample | None, now: Sample | None) -> dict[str, Any]:
    """Docker's stats fields for one container ("--" where it is not running)."""
    name = ctr.name.lstrip("/")
    base = {"ID": ctr.id[:12], "Container": ctr.id[:12], "FullID": ctr.id, "Name": name}
    if now is None:
        return {**base, "CPUPerc": "--", "MemUsage": "-- / --", "MemPerc": "--", "NetIO": "--", "BlockIO": "--",
                "PIDs": "--", "CPU": 0.0, "Mem": 0.0}
    cpu = 0.0
    if before is not None and now.at > before.at:
        cpu = max(0.0, (now.cpu_ns - before.cpu_ns) / ((now.at - before.at) * 1e9) * 100.0)
    mem_pct = now.mem * 100.0 / now.limit if now.limit else 0.0
    return {**base, "CPUPerc": f"{cpu:.2f}%", "MemUsage": f"{binary_size(now.mem)} / {binary_size(now.limit)}",
            "MemPerc": f"{mem_pct:.2f}%", "NetIO": f"{human_size(now.net[0])} / {human_size(now.net[1])}",
            "BlockIO": f"{human_size(now.blk[0])} / {human_size(now.blk[1])}", "PIDs": str(now.pids),
            "CPU": cpu, "Mem": mem_pct}


def stats(eng: Engine, refs: list[str], interval: float = 1.0, all_: bool = False,
          previous: dict[str, Sample | None] | None = None) -> tuple[list[dict[str, Any]], dict[str, Sample | None]]:
    """Rows for the named containers (or every running one). Without `previous`, reads twice `interval` apart
    (what --no-stream shows); with it, reads once and compares (each refresh of the stream)."""
    ctrs = selected(eng, refs, all_)
    if previous is None:
        previous = take(ctrs)
        if any(previous.values()):
            time.sleep(interval)
        for c in ctrs:
            lifecycle.refresh(eng, c)
    now = take(ctrs)
    return [row(c, previous.get(c.id), now[c.id]) for c in ctrs], now
