"""A fake cgroupfs in a temp dir for the cgroups unit tests: a `Files` that behaves like the kernel's.

mkdir makes the interface files of the controllers the hierarchy (v1) or the parent's subtree_control (v2) gives,
writes to files that are missing fail with ENOENT, the few files with side effects (cgroup.subtree_control,
cgroup.freeze, freezer.state, cgroup.procs, cpuset checks, memsw ordering) act as the kernel does, and every write
is recorded in `writes` as (path relative to the tree, value).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from tug.cgroups.files import Files

UNLIMITED_V1 = "9223372036854771712"

V2_FILES = {
    "memory": {"memory.max": "max", "memory.low": "0", "memory.swap.max": "max", "memory.current": "0",
               "memory.stat": "", "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"},
    "cpu": {"cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0"},
    "io": {"io.weight": "default 100", "io.max": "", "io.stat": ""},
    "pids": {"pids.max": "max", "pids.current": "0"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": "", "cpuset.cpus.effective": "", "cpuset.mems.effective": ""},
    "hugetlb": {"hugetlb.2MB.max": "max"},
}
V2_CORE = {"cgroup.procs": "", "cgroup.subtree_control": "", "cgroup.events": "populated 0\nfrozen 0\n",
           "cgroup.freeze": "0", "cgroup.kill": "", "cgroup.type": "domain", "cpu.stat": "usage_usec 0\n"}

V1_FILES = {
    "memory": {"memory.limit_in_bytes": UNLIMITED_V1, "memory.memsw.limit_in_bytes": UNLIMITED_V1,
               "memory.soft_limit_in_bytes": UNLIMITED_V1, "memory.usage_in_bytes": "0", "memory.stat": "",
               "memory.swappiness": "60", "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"},
    "cpu": {"cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1"},
    "cpuacct": {"cpuacct.usage": "0", "cpuacct.stat": "user 0\nsystem 0\n"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "pids": {"pids.max": "max", "pids.current": "0"},
    "blkio": {"blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
              "blkio.throttle.io_service_bytes_recursive": ""},
    "freezer": {"freezer.state": "THAWED"},
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n"},
}


class FakeCgroupFS(Files):
    def __init__(self, top: Path) -> None:
        self.top = top
        self.writes: list[tuple[str, str]] = []
        self.v1_mounts: dict[str, set[str]] = {}   # mount point -> controllers
        self.v2_mounts: set[str] = set()
        self.device_filters: dict[str, bytes] = {}  # cgroup dir -> attached eBPF bytecode

    # -- building trees --------------------------------------------------------------------------------------
    def v2_root(self, mount: Path, controllers: str = "cpuset cpu io memory hugetlb pids") -> Path:
        mount.mkdir(parents=True, exist_ok=True)
        for name, value in V2_CORE.items():
            (mount / name).write_text(value)
        (mount / "cgroup.controllers").write_text(controllers + "\n")
        (mount / "cgroup.procs").write_text("1\n")
        self.v2_mounts.add(str(mount))
        return mount

    def v1_root(self, mount: Path, controllers: set[str]) -> Path:
        mount.mkdir(parents=True, exist_ok=True)
        self._v1_files(mount, controllers)
        if "cpuset" in controllers:
            (mount / "cpuset.cpus").write_text("0-3\n")
            (mount / "cpuset.mems").write_text("0\n")
        self.v1_mounts[str(mount)] = controllers
        return mount

    def _v1_files(self, d: Path, controllers: set[str]) -> None:
        (d / "cgroup.procs").write_text("")
        (d / "tasks").write_text("")
        for c in controllers:
            for name, value in V1_FILES.get(c, {}).items():
                (d / name).write_text(value)

    def _mount_of(self, path: str) -> tuple[str, int]:
        for m in self.v1_mounts:
            if path == m or path.startswith(m + "/"):
                return m, 1
        for m in self.v2_mounts:
            if path == m or path.startswith(m + "/"):
                return m, 2
        raise AssertionError(f"{path} is not in a fake hierarchy")

    def rel(self, path: str | Path) -> str:
        return os.path.relpath(str(path), str(self.top))

    # -- Files ---------------------------------------------------------------------------------------------------
    def mkdir(self, path: str) -> None:
        os.mkdir(path)
        d = Path(path)
        mount, version = self._mount_of(path)
        if version == 1:
            self._v1_files(d, self.v1_mounts[mount])
            return
        for name, value in V2_CORE.items():
            (d / name).write_text(value)
        enabled = (d.parent / "cgroup.subtree_control").read_text().split()
        (d / "cgroup.controllers").write_text(" ".join(enabled) + "\n")
        for c in enabled:
            for name, value in V2_FILES.get(c, {}).items():
                (d / name).write_text(value)

    def rmdir(self, path: str) -> None:
        d = Path(path)
        if not d.is_dir():
            raise FileNotFoundError(errno.ENOENT, "no such cgroup", path)
        if any(p.is_dir() for p in d.iterdir()) or (d / "cgroup.procs").read_text().split():
            raise OSError(errno.EBUSY, "busy", path)
        for p in d.iterdir():
            p.unlink()
        d.rmdir()

    def attach_device_filter(self, path: str, code: bytes) -> None:
        if not Path(path, "cgroup.procs").is_file():
            raise FileNotFoundError(errno.ENOENT, "no such cgroup", path)
        self.device_filters[path] = code

    def write(self, path: str, value: str) -> None:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(errno.ENOENT, "no such file", path)
        self.writes.append((self.rel(path), value))
        name, d = p.name, p.parent
        if name == "cgroup.subtree_control":
            avail = set((d / "cgroup.controllers").read_text().split())
            enabled = set(p.read_text().split())
            for word in value.split():
                if word[1:] not in avail:
                    raise OSError(errno.ENOENT, "controller not available", path)
                enabled = enabled | {word[1:]} if word[0] == "+" else enabled - {word[1:]}
            if str(d) not in self.v2_mounts and (d / "cgroup.procs").read_text().split():
                raise OSError(errno.EBUSY, "no internal processes", path)
            p.write_text(" ".join(sorted(enabled)) + "\n")
        elif name == "cgroup.procs":
            cpus = d / "cpuset.cpus"
            if self._mount_of(path)[1] == 1 and cpus.exists() and not cpus.read_text().strip():
                raise OSError(errno.ENOSPC, "empty cpuset", path)
            p.write_text(p.read_text() + value + "\n")
        elif name == "cgroup.freeze":
            p.write_text(value)
            (d / "cgroup.events").write_text(f"populated 0\nfrozen {value.strip()}\n")
        elif name in ("io.max", "devices.allow", "devices.deny", "cgroup.kill"):
            p.write_text(p.read_text() + value + "\n")
        elif name == "memory.limit_in_bytes":
            if _num(value) > _num((d / "memory.memsw.limit_in_bytes").read_text()):
                raise OSError(errno.EINVAL, "memory above memsw", path)
            p.write_text(value)
        elif name == "memory.memsw.limit_in_bytes":
            if _num(value) < _num((d / "memory.limit_in_bytes").read_text()):
                raise OSError(errno.EINVAL, "memsw below memory", path)
            p.write_text(value)
        else:
            p.write_text(value)


def _num(text: str) -> int:
    value = int(text.strip())
    return int(UNLIMITED_V1) if value < 0 else value
