"""Joining the container's cgroup: the one seam to swap for `tug.cgroups.manager` when it lands.

Minimal on purpose: create `linux.cgroupsPath` under every mounted v1 hierarchy and the v2 one, write the init's
pid to each `cgroup.procs`, and remove the dirs this runtime created on delete. Resources are not applied yet.
"""

from __future__ import annotations

import errno
import os
import time


class Joined:
    def __init__(self) -> None:
        self.paths: list[str] = []      # the container's cgroup dir in each hierarchy
        self.mounts: list[str] = []     # the hierarchy's mount point, parallel to paths
        self.created: list[str] = []    # dirs made by us, parents first


def hierarchies(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str, str]]:
    """(mount point, fstype, super options) of each mounted cgroup hierarchy."""
    out = []
    with open(mountinfo) as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rest = left.split(), right.split()
            if rest and rest[0] in ("cgroup", "cgroup2"):
                out.append((fields[4].replace("\\040", " "), rest[0], rest[2] if len(rest) > 2 else ""))
    return out


def _own_paths() -> dict[str, str]:
    """controller list ('' for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            own[ctrls] = path
    return own


def _relative_base(fstype: str, opts: str, own: dict[str, str]) -> str:
    if fstype == "cgroup2":
        return own.get("", "/")
    wanted = {o for o in opts.split(",") if o not in ("rw", "ro") and not o.startswith("release_agent")}
    for ctrls, path in own.items():
        if ctrls and set(ctrls.split(",")) & wanted:
            return path
    return "/"


def container_path(cgroups_path: str | None, cid: str) -> str:
    return cgroups_path or f"/{cid}"


def create(cgroups_path: str) -> Joined:
    """Make `cgroups_path` in every hierarchy (a relative path is under the caller's own cgroup)."""
    joined = Joined()
    own = _own_paths() if not cgroups_path.startswith("/") else {}
    for mnt, fstype, opts in hierarchies():
        rel = cgroups_path if cgroups_path.startswith("/") else os.path.join(_relative_base(fstype, opts, own),
                                                                             cgroups_path)
        path = os.path.normpath(mnt + "/" + rel.strip("/"))
        if not path.startswith(mnt):
            continue
        _make(mnt, path, "cpuset" in opts.split(","), joined.created)
        joined.paths.append(path)
        joined.mounts.append(mnt)
    return joined


def add(joined: Joined, pid: int) -> None:
    """Move `pid` (a host pid) into the container's cgroup of every hierarchy."""
    for path in joined.paths:
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(pid))


def _make(mnt: str, path: str, cpuset: bool, created: list[str]) -> None:
    missing = []
    p = path
    while p != mnt and not os.path.isdir(p):
        missing.append(p)
        p = os.path.dirname(p)
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o755)
            created.append(d)
        except FileExistsError:
            continue
        if cpuset:  # a new v1 cpuset starts empty: a task cannot join until cpus and mems are set
            for name in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(os.path.dirname(d), name)) as src:
                    value = src.read().strip()
                with open(os.path.join(d, name), "w") as dst:
                    dst.write(value)


def pids(paths: list[str]) -> list[int]:
    for p in paths:
        try:
            with open(os.path.join(p, "cgroup.procs")) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            continue
    return []


def remove(created: list[str], paths: list[str], timeout: float = 2.0) -> None:
    """rmdir what we created (children first); a cgroup still busy with exiting tasks is retried briefly."""
    for d in reversed(created):
        deadline = time.monotonic() + timeout
        while True:
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() > deadline:
                    break
                time.sleep(0.01)


# what runc allows on top of a spec's device rules: mknod of anything, the default /dev nodes, ptys, tun
DEFAULT_DEVICE_RULES = [
    {"allow": True, "type": "c", "access": "m"}, {"allow": True, "type": "b", "access": "m"},
    *({"allow": True, "type": "c", "major": ma, "minor": mi, "access": "rwm"}
      for ma, mi in ((1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 1), (5, 2), (10, 200))),
    {"allow": True, "type": "c", "major": 136, "access": "rwm"},
]


def with_default_devices(resources: dict) -> dict:
    """The spec's resources with the default device allow rules appended after its own rules (so a spec that
    denies everything still has /dev/null, ptys...)."""
    if "devices" not in resources:
        return resources
    return {**resources, "devices": [*resources["devices"], *DEFAULT_DEVICE_RULES]}


class Joiner:
    """Moves the init into its cgroup on a helper thread (a v1 cgroup.procs write waits for an RCU grace period)
    while the main thread imports `tug.cgroups` and writes `linux.resources`.

    Start it BEFORE unshare(CLONE_NEWPID): after that the kernel refuses new threads in this process."""

    def __init__(self, joined: Joined) -> None:
        import _thread

        self.joined = joined
        self.pid = 0
        self.errors: list[BaseException] = []
        self.go = _thread.allocate_lock()
        self.done = _thread.allocate_lock()
        self.go.acquire()
        self.done.acquire()
        _thread.start_new_thread(self._work, ())

    def _work(self) -> None:
        try:
            self.go.acquire()
            if self.pid:
                add(self.joined, self.pid)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self.errors.append(e)
        finally:
            self.done.release()

    def cancel(self) -> None:
        if self.go.locked():
            self.go.release()
        self.done.acquire()

    def join_and_apply(self, pid: int, cgroups_path: str, resources: dict) -> list[str]:
        """Returns the manager's notes on settings it skipped."""
        self.pid = pid
        self.go.release()
        try:
            from tug.cgroups.manager import for_host

            notes = for_host().load(cgroups_path, self.joined.created).apply(with_default_devices(resources))
        finally:
            self.done.acquire()
        if self.errors:
            raise self.errors[0]
        return notes
