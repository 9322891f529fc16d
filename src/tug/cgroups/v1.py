"""cgroup v1: one hierarchy per controller (or per group of controllers), one directory in each.

A hybrid host (v1 controllers plus a cgroup2 mount, like systemd's "hybrid" layout) also gets a directory in the
cgroup2 hierarchy: it holds the processes too, so `cgroup.kill` and any controller living only on v2 work there.
"""

from __future__ import annotations

import errno
import os

from tug.cgroups.cgroup import Cgroup, require
from tug.cgroups.files import REAL, Files, failure
from tug.cgroups.stats import Stats, parse_blkio_v1, parse_keyed, parse_limit
from tug.cgroups.v2 import V2Cgroup
from tug.errors import Invalid, SystemFailure, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:  # collections.abc stays off tug-runtime's import path
    from collections.abc import Iterable

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
BLKIO_STAT_FILES = ("blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive",
                    "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes")


def fill_cpuset(files: Files, mount: str, d: str) -> None:
    """A new v1 cpuset starts with empty cpus and mems and takes no tasks: copy them down from the nearest parent."""
    rel = os.path.relpath(d, mount)
    if rel == ".":
        return
    parent = mount
    for part in rel.split("/"):
        child = os.path.join(parent, part)
        for name in ("cpuset.cpus", "cpuset.mems"):
            path = os.path.join(child, name)
            try:
                if files.read(path).strip():
                    continue
                files.write(path, files.read(os.path.join(parent, name)).strip())
            except OSError as e:
                raise failure(f"cannot populate {name}", child, e) from None
        parent = child


def device_rule(rule: dict) -> str:
    """An OCI device rule -> "TYPE MAJ:MIN ACCESS" for devices.allow/deny (missing numbers are wildcards)."""
    kind = rule.get("type") or "a"
    if kind not in ("a", "b", "c"):
        raise Invalid(f"device rule type {kind!r} is not a, b or c", where="linux.resources.devices")
    access = rule.get("access") or "rwm"
    if not access or set(access) - set("rwm"):
        raise Invalid(f"device rule access {access!r} is not a subset of rwm", where="linux.resources.devices")

    def num(n: object) -> str:
        return "*" if n is None or n == -1 else str(int(n))  # type: ignore[call-overload]

    return f"{kind} {num(rule.get('major'))}:{num(rule.get('minor'))} {access}"


class V1Cgroup(Cgroup):
    version = 1

    def __init__(self, dirs: dict[str, str], path: str, created: Iterable[str] = (), files: Files = REAL,
                 unified: str | None = None) -> None:
        """`dirs` maps each hierarchy key ("memory", "cpu,cpuacct", "name=systemd") to this cgroup's dir in it."""
        super().__init__(path, created, files)
        self.by_key = dict(dirs)
        self.by_controller = {c: d for key, d in dirs.items() for c in key.split(",")}
        self.unified = V2Cgroup(unified, path, (), files) if unified else None

    @property
    def dirs(self) -> list[str]:
        out = list(dict.fromkeys(self.by_key.values()))
        return out + ([self.unified.dir] if self.unified else [])

    def dir_of(self, controller: str) -> str | None:
        return self.by_controller.get(controller)

    def add_pid(self, pid: int) -> None:
        for d in self.dirs:
            self._write_procs(d, pid)

    def pids(self) -> list[int]:
        for c in ("pids", "freezer", "memory", "cpu", "devices", "name=systemd"):
            d = self.dir_of(c)
            if d and self.files.isdir(d):
                return self._procs(d)
        return self.unified.pids() if self.unified else []

    # -- resources -----------------------------------------------------------------------------------------------
    def _opt(self, controller: str, name: str, value: object, skipped: list[str], note: str) -> None:
        d = self.dir_of(controller)
        if d is None or not self._write(d, name, value):
            skipped.append(note)

    def _req(self, controller: str, name: str, value: object) -> None:
        d = self.dir_of(controller)
        require(d is not None and self._write(d, name, value), controller, d or self.path)

    def apply(self, resources: dict) -> list[str]:
        r = resources or {}
        skipped: list[str] = []
        self._memory(r.get("memory") or {}, skipped)
        self._cpu(r.get("cpu") or {}, skipped)
        pids = r.get("pids") or {}
        if pids.get("limit"):
            self._req("pids", "pids.max", "max" if pids["limit"] < 0 else pids["limit"])
        self._blkio(r.get("blockIO") or {}, skipped)
        for hp in r.get("hugepageLimits") or []:
            if self.dir_of("hugetlb"):
                self._req("hugetlb", f"hugetlb.{hp['pageSize']}.limit_in_bytes", hp["limit"])
            elif not (self.unified and self._write(self.unified.dir, f"hugetlb.{hp['pageSize']}.max", hp["limit"])):
                skipped.append(f"hugepageLimits {hp['pageSize']}: no hugetlb controller here")
        net = r.get("network") or {}
        if net.get("classID") is not None:
            self._opt("net_cls", "net_cls.classid", net["classID"], skipped, "network.classID: no net_cls here")
        for prio in net.get("priorities") or []:
            self._opt("net_prio", "net_prio.ifpriomap", f"{prio['name']} {prio['priority']}", skipped,
                      "network.priorities: no net_prio here")
        if r.get("rdma"):
            skipped.append("rdma: not applied on cgroup v1")
        rules = r.get("devices") or []
        for rule in rules:
            self._req("devices", "devices.allow" if rule.get("allow") else "devices.deny", device_rule(rule))
        unified = r.get("unified") or {}
        if unified:
            if self.unified is None:
                raise Invalid("linux.resources.unified needs a cgroup v2 hierarchy, this host has only v1",
                              where=self.path)
            self.unified.write_unified(self.unified.dir, unified)
        return skipped

    def _memory(self, mem: dict, skipped: list[str]) -> None:
        limit, swap = mem.get("limit"), mem.get("swap")
        d = self.dir_of("memory")
        if (limit or swap or mem.get("reservation")) and d is None:
            require(False, "memory", self.path)
        if d is not None and limit:
            try:
                self._req("memory", "memory.limit_in_bytes", limit)
                if swap:
                    self._opt("memory", "memory.memsw.limit_in_bytes", swap, skipped,
                              "memory.swap: swap accounting is off (no memory.memsw.limit_in_bytes)")
            except SystemFailure as e:
                # memory must stay <= memory+swap at every step: when raising both, the memsw limit goes first
                if e.errno != errno.EINVAL or not swap or not self._write(d, "memory.memsw.limit_in_bytes", swap):
                    raise
                self._req("memory", "memory.limit_in_bytes", limit)
        elif d is not None and swap:
            self._opt("memory", "memory.memsw.limit_in_bytes", swap, skipped,
                      "memory.swap: swap accounting is off (no memory.memsw.limit_in_bytes)")
        if mem.get("reservation"):
            self._req("memory", "memory.soft_limit_in_bytes", mem["reservation"])
        if mem.get("swappiness") is not None and 0 <= mem["swappiness"] <= 100:
            self._opt("memory", "memory.swappiness", mem["swappiness"], skipped, "memory.swappiness: not here")
        if mem.get("disableOOMKiller"):
            self._req("memory", "memory.oom_control", 1)
        if mem.get("kernelTCP"):
            self._opt("memory", "memory.kmem.tcp.limit_in_bytes", mem["kernelTCP"], skipped,
                      "memory.kernelTCP: not supported by this kernel")
        if mem.get("kernel"):
            skipped.append("memory.kernel: kernel memory limits are deprecated and not applied")

    def _cpu(self, cpu: dict, skipped: list[str]) -> None:
        if cpu.get("shares"):
            self._req("cpu", "cpu.shares", cpu["shares"])
        if cpu.get("period"):
            self._req("cpu", "cpu.cfs_period_us", cpu["period"])
        if cpu.get("quota"):
            self._req("cpu", "cpu.cfs_quota_us", cpu["quota"] if cpu["quota"] > 0 else -1)
        if cpu.get("burst") is not None:
            self._opt("cpu", "cpu.cfs_burst_us", cpu["burst"], skipped, "cpu.burst: not supported by this kernel")
        if cpu.get("idle") is not None:
            self._opt("cpu", "cpu.idle", cpu["idle"], skipped, "cpu.idle: not supported by this kernel")
        if cpu.get("realtimePeriod"):
            self._opt("cpu", "cpu.rt_period_us", cpu["realtimePeriod"], skipped, "cpu.realtimePeriod: no RT groups")
        if cpu.get("realtimeRuntime"):
            self._opt("cpu", "cpu.rt_runtime_us", cpu["realtimeRuntime"], skipped, "cpu.realtimeRuntime: no RT groups")
        if cpu.get("cpus"):
            self._req("cpuset", "cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            self._req("cpuset", "cpuset.mems", cpu["mems"])

    def _blkio(self, bio: dict, skipped: list[str]) -> None:
        d = self.dir_of("blkio")
        weight = bio.get("weight")
        if weight and not (d and any(self._write(d, f, weight) for f in ("blkio.weight", "blkio.bfq.weight"))):
            skipped.append("blockIO.weight: no proportional blkio weight on this host (needs CFQ or BFQ)")
        if bio.get("leafWeight"):
            self._opt("blkio", "blkio.leaf_weight", bio["leafWeight"], skipped, "blockIO.leafWeight: not here")
        for dev in bio.get("weightDevice") or []:
            if dev.get("weight"):
                self._opt("blkio", "blkio.weight_device", f"{dev['major']}:{dev['minor']} {dev['weight']}", skipped,
                          f"blockIO.weightDevice {dev['major']}:{dev['minor']}: not supported here")
        for key, name in (("throttleReadBpsDevice", "read_bps_device"), ("throttleWriteBpsDevice", "write_bps_device"),
                          ("throttleReadIOPSDevice", "read_iops_device"),
                          ("throttleWriteIOPSDevice", "write_iops_device")):
            for dev in bio.get(key) or []:
                self._opt("blkio", f"blkio.throttle.{name}", f"{dev['major']}:{dev['minor']} {dev.get('rate', 0)}",
                          skipped, f"blockIO.{key}: no blkio throttling here")

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def _state(self, d: str) -> str:
        return (self._read(d, "freezer.state") or "").strip()

    def freeze(self, timeout: float = 5.0) -> None:
        d = self.dir_of("freezer")
        if d is None:
            if self.unified is not None:
                return self.unified.freeze(timeout)
            raise Unavailable("no freezer hierarchy is mounted", where=self.path)
        require(self._write(d, "freezer.state", "FROZEN"), "freezer", d)
        try:
            # FREEZING can stick when a task is mid-fork; asking again moves it on
            self._wait(lambda: self._state(d) == "FROZEN", timeout, "freeze", d,
                       nudge=lambda: self._write(d, "freezer.state", "FROZEN"))
        except SystemFailure:
            self._write(d, "freezer.state", "THAWED")
            raise
        return None

    def thaw(self, timeout: float = 5.0) -> None:
        d = self.dir_of("freezer")
        if d is None:
            if self.unified is not None:
                return self.unified.thaw(timeout)
            raise Unavailable("no freezer hierarchy is mounted", where=self.path)
        require(self._write(d, "freezer.state", "THAWED"), "freezer", d)
        self._wait(lambda: self._state(d) == "THAWED", timeout, "thaw", d,
                   nudge=lambda: self._write(d, "freezer.state", "THAWED"))
        return None

    def kill_all(self, sig: int = 9) -> None:
        if sig == 9 and self.unified is not None:
            self.unified.kill_all(sig)  # cgroup.kill where the kernel has it (atomic against forks)
        super().kill_all(sig)

    def oom_killed(self) -> bool:
        d = self.dir_of("memory")
        if d is None:
            return False
        return parse_keyed(self._read(d, "memory.oom_control") or "").get("oom_kill", 0) > 0

    def stats(self) -> Stats:
        s = Stats()
        acct = self.dir_of("cpuacct")
        if acct:
            s.cpu_usage_ns = int((self._read(acct, "cpuacct.usage") or "0").strip() or 0)
            ticks = parse_keyed(self._read(acct, "cpuacct.stat") or "")
            s.cpu_user_ns = ticks.get("user", 0) * 1_000_000_000 // CLK_TCK
            s.cpu_system_ns = ticks.get("system", 0) * 1_000_000_000 // CLK_TCK
        mem = self.dir_of("memory")
        if mem:
            s.memory_usage = int((self._read(mem, "memory.usage_in_bytes") or "0").strip() or 0)
            s.memory_limit = parse_limit(self._read(mem, "memory.limit_in_bytes") or "max")
            s.memory_stat = parse_keyed(self._read(mem, "memory.stat") or "")
            s.memory_cache = s.memory_stat.get("total_cache", s.memory_stat.get("cache", 0))
            s.memory_inactive_file = s.memory_stat.get("total_inactive_file", 0)
        pids = self.dir_of("pids")
        if pids:
            s.pids_current = int((self._read(pids, "pids.current") or "0").strip() or 0)
            s.pids_limit = parse_limit(self._read(pids, "pids.max") or "max")
        blkio = self.dir_of("blkio")
        if blkio:
            for name in BLKIO_STAT_FILES:
                read, write = parse_blkio_v1(self._read(blkio, name) or "")
                if read or write:
                    s.blkio_read_bytes, s.blkio_write_bytes = read, write
                    break
        return s
