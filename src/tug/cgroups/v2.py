"""cgroup v2 (the unified hierarchy): one directory per cgroup, controllers enabled from the root down.

Devices: v2 has no devices.allow/deny; the OCI device rules become an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE,
made by `devicefilter`) attached to the cgroup. Where the kernel refuses that for lack of privilege (rootless),
the rules are reported as skipped and the container's /dev (only allowed nodes exist) is the remaining barrier.
"""

from __future__ import annotations

import errno
import os

from tug.cgroups.cgroup import Cgroup, require
from tug.cgroups.convert import blkio_weight_to_io_weight, max_or, shares_to_weight, swap_for_v2, v2_cpu_max
from tug.cgroups.files import REAL, Files, failure
from tug.cgroups.stats import Stats, parse_io_stat_v2, parse_keyed, parse_limit
from tug.errors import Invalid, SystemFailure, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:  # collections.abc stays off tug-runtime's import path
    from collections.abc import Iterable

# controllers a container's cgroup wants from its parents (whichever of these the parent offers)
WANTED = ("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc")


def enable_controllers(files: Files, d: str) -> list[str]:
    """Enable in `d`'s cgroup.subtree_control every wanted controller `d` has; returns the ones that failed."""
    avail = _words(files, os.path.join(d, "cgroup.controllers"))
    enabled = set(_words(files, os.path.join(d, "cgroup.subtree_control")))
    missing = [c for c in WANTED if c in avail and c not in enabled]
    if not missing:
        return []
    path = os.path.join(d, "cgroup.subtree_control")
    try:
        files.write(path, " ".join("+" + c for c in missing))
        return []
    except OSError:
        pass
    failed = []
    for c in missing:  # one at a time, so one refusal (e.g. cpu with realtime tasks) does not cost the others
        try:
            files.write(path, "+" + c)
        except OSError:
            failed.append(c)
    return failed


def _words(files: Files, path: str) -> list[str]:
    try:
        return files.read(path).split()
    except OSError:
        return []


def make_dirs(files: Files, root: str, rel: str, enable: bool = True, created: list[str] | None = None) -> list[str]:
    """mkdir root/rel level by level, enabling controllers in each parent first (v2).

    Appends each dir made to `created` as it goes (so a caller can undo a half-done create) and returns it.
    """
    created = [] if created is None else created
    d = root
    for part in [p for p in rel.split("/") if p]:
        if enable:
            enable_controllers(files, d)
        d = os.path.join(d, part)
        if files.isdir(d):
            continue
        try:
            files.mkdir(d)
            created.append(d)
        except FileExistsError:
            continue
        except OSError as e:
            raise failure("cannot create cgroup", d, e) from None
    return created


class V2Cgroup(Cgroup):
    version = 2

    def __init__(self, directory: str, path: str, created: Iterable[str] = (), files: Files = REAL) -> None:
        super().__init__(path, created, files)
        self.dir = directory

    @property
    def dirs(self) -> list[str]:
        return [self.dir]

    def add_pid(self, pid: int) -> None:
        self._write_procs(self.dir, pid)

    def pids(self) -> list[int]:
        return self._procs(self.dir)

    # -- resources -----------------------------------------------------------------------------------------------
    def apply(self, resources: dict) -> list[str]:
        r = resources or {}
        skipped: list[str] = []
        self._memory(r.get("memory") or {}, skipped)
        self._cpu(r.get("cpu") or {}, skipped)
        pids = r.get("pids") or {}
        if pids.get("limit"):
            require(self._write(self.dir, "pids.max", max_or(pids["limit"])), "pids", self.dir)
        self._io(r.get("blockIO") or {}, skipped)
        for hp in r.get("hugepageLimits") or []:
            if not self._write(self.dir, f"hugetlb.{hp['pageSize']}.max", hp["limit"]):
                skipped.append(f"hugepageLimits {hp['pageSize']}: no hugetlb controller here")
        for dev, lim in (r.get("rdma") or {}).items():
            parts = [f"{k}={lim[j]}" for j, k in (("hcaHandles", "hca_handle"), ("hcaObjects", "hca_object"))
                     if lim.get(j) is not None]
            if parts and not self._write(self.dir, "rdma.max", f"{dev} {' '.join(parts)}"):
                skipped.append(f"rdma {dev}: no rdma controller here")
        if r.get("network"):
            skipped.append("network classID/priorities: net_cls and net_prio do not exist on cgroup v2")
        if r.get("devices"):
            self._devices(r["devices"], skipped)
        self.write_unified(self.dir, r.get("unified") or {})
        return skipped

    def _devices(self, rules: list[dict], skipped: list[str]) -> None:
        from tug.cgroups.devicefilter import program  # struct: only when device rules apply on v2

        code = program(rules)
        try:
            self.files.attach_device_filter(self.dir, code)
        except SystemFailure as e:
            if e.errno not in (errno.EPERM, errno.EACCES):
                raise
            skipped.append(f"devices: not permitted to attach a device filter here ({e.message})")

    def _memory(self, mem: dict, skipped: list[str]) -> None:
        d, limit = self.dir, mem.get("limit")
        swap = swap_for_v2(mem.get("swap"), limit)
        if limit:
            require(self._write(d, "memory.max", max_or(limit)), "memory", d)
        if swap is not None and not self._write(d, "memory.swap.max", max_or(swap)):
            skipped.append("memory.swap: this kernel does not account swap (no memory.swap.max)")
        if mem.get("reservation"):
            require(self._write(d, "memory.low", max_or(mem["reservation"])), "memory", d)
        if mem.get("swappiness") is not None:
            skipped.append("memory.swappiness: not a cgroup v2 setting")
        if mem.get("disableOOMKiller"):
            skipped.append("memory.disableOOMKiller: not a cgroup v2 setting")
        if mem.get("kernel") or mem.get("kernelTCP"):
            skipped.append("memory.kernel/kernelTCP: kernel memory is part of memory.max on cgroup v2")

    def _cpu(self, cpu: dict, skipped: list[str]) -> None:
        d = self.dir
        if cpu.get("shares"):
            require(self._write(d, "cpu.weight", shares_to_weight(cpu["shares"])), "cpu", d)
        cpu_max = v2_cpu_max(cpu.get("quota"), cpu.get("period"))
        if cpu_max is not None:
            require(self._write(d, "cpu.max", cpu_max), "cpu", d)
        if cpu.get("burst") is not None and not self._write(d, "cpu.max.burst", cpu["burst"]):
            skipped.append("cpu.burst: no cpu.max.burst on this kernel")
        if cpu.get("idle") is not None and not self._write(d, "cpu.idle", cpu["idle"]):
            skipped.append("cpu.idle: no cpu.idle on this kernel")
        if cpu.get("realtimeRuntime") or cpu.get("realtimePeriod"):
            skipped.append("cpu.realtimeRuntime/realtimePeriod: not available on cgroup v2")
        if cpu.get("cpus"):
            require(self._write(d, "cpuset.cpus", cpu["cpus"]), "cpuset", d)
        if cpu.get("mems"):
            require(self._write(d, "cpuset.mems", cpu["mems"]), "cpuset", d)

    def _io(self, bio: dict, skipped: list[str]) -> None:
        d = self.dir
        if bio.get("weight"):
            bfq = self.files.exists(os.path.join(d, "io.bfq.weight"))
            ok = (self._write(d, "io.bfq.weight", bio["weight"]) if bfq
                  else self._write(d, "io.weight", blkio_weight_to_io_weight(bio["weight"])))
            if not ok:
                skipped.append("blockIO.weight: no io controller here")
        for dev in bio.get("weightDevice") or []:
            if dev.get("weight") and not self._write(d, "io.bfq.weight", f"{dev['major']}:{dev['minor']} "
                                                                          f"{dev['weight']}"):
                skipped.append(f"blockIO.weightDevice {dev['major']}:{dev['minor']}: needs the bfq scheduler")
        if bio.get("leafWeight"):
            skipped.append("blockIO.leafWeight: not a cgroup v2 setting")
        for key, field in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                           ("throttleReadIOPSDevice", "riops"), ("throttleWriteIOPSDevice", "wiops")):
            for dev in bio.get(key) or []:
                value = f"{dev['major']}:{dev['minor']} {field}={dev.get('rate') or 'max'}"
                if not self._write(d, "io.max", value):
                    skipped.append(f"blockIO.{key}: no io controller here")

    def write_unified(self, d: str, unified: dict[str, str]) -> None:
        for key, value in unified.items():
            if "/" in key or key.startswith(".") or "." not in key:
                raise Invalid(f"unified key {key!r} is not a cgroup interface file name", where="linux.resources")
            if key in ("cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.kill"):
                raise Invalid(f"unified key {key!r} is not a resource setting", where="linux.resources")
            if not self._write(d, key, value):
                raise Invalid(f"unified key {key!r}: no such file (controller not enabled?)", where=d)

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def _frozen(self) -> bool:
        return parse_keyed(self._read(self.dir, "cgroup.events") or "").get("frozen") == 1

    def freeze(self, timeout: float = 5.0) -> None:
        if not self._write(self.dir, "cgroup.freeze", "1"):
            raise Unavailable("cgroup.freeze is missing (kernel older than 5.2?)", where=self.dir)
        try:
            self._wait(self._frozen, timeout, "freeze", self.dir)
        except SystemFailure:
            self._write(self.dir, "cgroup.freeze", "0")
            raise

    def thaw(self, timeout: float = 5.0) -> None:
        if not self._write(self.dir, "cgroup.freeze", "0"):
            raise Unavailable("cgroup.freeze is missing (kernel older than 5.2?)", where=self.dir)
        self._wait(lambda: not self._frozen(), timeout, "thaw", self.dir)

    def kill_all(self, sig: int = 9) -> None:
        if sig == 9 and self._write(self.dir, "cgroup.kill", "1"):
            return
        super().kill_all(sig)

    def oom_killed(self) -> bool:
        return parse_keyed(self._read(self.dir, "memory.events") or "").get("oom_kill", 0) > 0

    def stats(self) -> Stats:
        d, s = self.dir, Stats()
        cpu = parse_keyed(self._read(d, "cpu.stat") or "")
        s.cpu_usage_ns = cpu.get("usage_usec", 0) * 1000
        s.cpu_user_ns = cpu.get("user_usec", 0) * 1000
        s.cpu_system_ns = cpu.get("system_usec", 0) * 1000
        s.memory_usage = int((self._read(d, "memory.current") or "0").strip() or 0)
        s.memory_limit = parse_limit(self._read(d, "memory.max") or "max")
        s.memory_stat = parse_keyed(self._read(d, "memory.stat") or "")
        s.memory_cache = s.memory_stat.get("file", 0)
        s.memory_inactive_file = s.memory_stat.get("inactive_file", 0)
        s.pids_current = int((self._read(d, "pids.current") or "0").strip() or 0)
        s.pids_limit = parse_limit(self._read(d, "pids.max") or "max")
        s.blkio_read_bytes, s.blkio_write_bytes = parse_io_stat_v2(self._read(d, "io.stat") or "")
        return s
