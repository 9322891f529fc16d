"""The container's cgroup: create `linux.cgroupsPath` under every mounted v1 hierarchy and the v2 one, apply
`linux.resources` through `tug.cgroups`, write the init's pid to each `cgroup.procs` (after `Primer` started the
RCU grace period that write would wait for), and remove the dirs this runtime created on delete.
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
        self.own_procs: str | None = None  # cgroup.procs of our own cgroup, where that is certain (for Primer)
        self.cpusets: list[bool] = []   # whether each hierarchy is a v1 cpuset one, parallel to paths (for make)


def hierarchies(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str, str]]:
    """(mount point, fstype, super options) of each mounted cgroup hierarchy."""
    return [(mnt, fstype, opts) for mnt, _root, fstype, opts in _mounts(mountinfo)]


def _mounts(mountinfo: str = "/proc/self/mountinfo") -> list[tuple[str, str, str, str]]:
    """(mount point, root within its hierarchy, fstype, super options) of each mounted cgroup hierarchy."""
    out = []
    with open(mountinfo) as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rest = left.split(), right.split()
            if len(fields) >= 5 and rest and rest[0] in ("cgroup", "cgroup2"):
                out.append((fields[4].replace("\\040", " "), fields[3], rest[0], rest[2] if len(rest) > 2 else ""))
    return out


def _own_paths(cgroup_file: str = "/proc/self/cgroup") -> dict[str, str]:
    """controller list ('' for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    own = {}
    with open(cgroup_file) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            own[ctrls] = path
    return own


def _controllers(opts: str) -> set[str]:
    return {o for o in opts.split(",") if o not in ("rw", "ro") and not o.startswith("release_agent")}


def _relative_base(fstype: str, opts: str, own: dict[str, str]) -> str:
    if fstype == "cgroup2":
        return own.get("", "/")
    wanted = _controllers(opts)
    for ctrls, path in own.items():
        if ctrls and set(ctrls.split(",")) & wanted:
            return path
    return "/"


def container_path(cgroups_path: str | None, cid: str) -> str:
    return cgroups_path or f"/{cid}"


def create(cgroups_path: str, mountinfo: str = "/proc/self/mountinfo",
           cgroup_file: str = "/proc/self/cgroup", make: bool = True) -> Joined:
    """Make `cgroups_path` in every hierarchy (a relative path is under the caller's own cgroup); also finds our own
    cgroup.procs (`Joined.own_procs`) for a Primer. `make=False` only plans (`make_dirs` makes them later)."""
    joined = Joined()
    try:
        own = _own_paths(cgroup_file)
    except (OSError, ValueError):
        own = {}
    for mnt, root, fstype, opts in _mounts(mountinfo):
        # our own cgroup is certain only in a hierarchy mounted at its root and named by /proc/self/cgroup
        if joined.own_procs is None and root == "/" and _names(fstype, opts, own):
            joined.own_procs = os.path.normpath(mnt + "/" + _relative_base(fstype, opts, own).strip("/"))
            joined.own_procs += "/cgroup.procs"
        rel = cgroups_path if cgroups_path.startswith("/") else os.path.join(_relative_base(fstype, opts, own),
                                                                             cgroups_path)
        path = os.path.normpath(mnt + "/" + rel.strip("/"))
        if not path.startswith(mnt):
            continue
        joined.paths.append(path)
        joined.mounts.append(mnt)
        joined.cpusets.append("cpuset" in opts.split(","))
    if make:
        make_dirs(joined)
    return joined


def make_dirs(joined: Joined) -> None:
    """Make the planned dirs (`create(make=False)`) that do not exist yet; records them in `joined.created`."""
    for mnt, path, cpuset in zip(joined.mounts, joined.paths, joined.cpusets, strict=True):
        _make(mnt, path, cpuset, joined.created)


def _names(fstype: str, opts: str, own: dict[str, str]) -> bool:
    """Whether /proc/self/cgroup says where we are in this hierarchy."""
    if fstype == "cgroup2":
        return "" in own
    return any(ctrls and set(ctrls.split(",")) & _controllers(opts) for ctrls in own)


def add(joined: Joined, pid: int) -> None:
    """Move `pid` (a host pid) into the container's cgroup of every hierarchy."""
    for path in joined.paths:
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(pid))


def _make(mnt: str, path: str, cpuset: bool, created: list[str]) -> None:
    for attempt in range(3):  # a parent shared with a container that is ending may vanish under us: walk again
        missing = []
        p = path
        while p != mnt and not os.path.isdir(p):
            missing.append(p)
            p = os.path.dirname(p)
        try:
            for d in reversed(missing):
                try:
                    os.mkdir(d, 0o755)
                    created.append(d)
                except FileExistsError:
                    continue
            break
        except FileNotFoundError:
            if attempt == 2:
                raise
    if not cpuset:
        return
    # a new v1 cpuset starts empty, and a task cannot join it (ENOSPC) until its cpus and mems are set: fill each
    # level from its parent, the ones a concurrent start made and has not filled yet included (the same values)
    chain = []
    p = path
    while p != mnt and p.startswith(mnt):
        chain.append(p)
        p = os.path.dirname(p)
    for d in reversed(chain):
        for name in ("cpuset.cpus", "cpuset.mems"):
            with open(os.path.join(d, name)) as own:
                if own.read().strip():
                    continue
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
    """rmdir what we created (children first); the container's own cgroup, still busy with exiting tasks, is
    retried briefly; a parent we made is left at once if another container now uses it."""
    leaves = set(paths)
    for d in reversed(created):
        deadline = time.monotonic() + (timeout if d in leaves else 0)
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


def apply(cgroups_path: str, joined: Joined, resources: dict) -> list[str]:
    """Write `linux.resources` (with the default device rules) through tug.cgroups; returns its notes on settings
    it skipped."""
    from tug.cgroups.manager import for_host

    return for_host().load(cgroups_path, joined.created).apply(with_default_devices(resources))


def _open_procs(procs_file: str | None) -> int:
    """A write fd on our own cgroup.procs for Primer and Warmer, or -1 (best effort: no fd, no early write)."""
    if procs_file is None:
        return -1
    try:
        return os.open(procs_file, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return -1


class Primer:
    """Starts the RCU grace period that the init's move into its cgroup would otherwise wait for, early.

    Any cgroup.procs write takes the kernel's cgroup_threadgroup_rwsem for writing, and without `favordynmods`
    the first writer after an idle spell waits for an RCU grace period (7-30 ms here); writers within about one
    grace period of the last one do not wait. So, before the init is forked, a helper thread writes our own pid to
    the cgroup.procs of the cgroup we are already in: nothing moves, and by the time the container's cgroup dirs
    are made and its resources written, the grace period has mostly passed (the write holds cgroup_mutex through
    its grace period, so those mkdirs wait for it, in parallel with the init's own set-up; when a `Warmer` kept
    the writes warm there is no wait at all). Best effort: any failure only costs the wait.

    Start it BEFORE unshare(CLONE_NEWPID): after that the kernel refuses new threads in this process."""

    def __init__(self, procs_file: str | None) -> None:
        import _thread

        self.done = _thread.allocate_lock()
        fd = _open_procs(procs_file)
        if fd < 0:
            return
        started = _thread.allocate_lock()
        started.acquire()
        self.done.acquire()
        _thread.start_new_thread(self._work, (fd, started))
        started.acquire()  # hand the GIL over now: the thread must be inside write(2) before we go on

    def _work(self, fd: int, started: object) -> None:
        try:
            started.release()  # type: ignore[attr-defined]
            os.write(fd, str(os.getpid()).encode())
        except OSError:
            pass
        finally:
            os.close(fd)
            self.done.release()

    def wait(self) -> None:
        """Until the thread is gone (error paths: before the cgroup dirs are removed)."""
        self.done.acquire()
        self.done.release()


def prime(joined: Joined) -> Primer:
    return Primer(joined.own_procs)


def own_procs(mountinfo: str = "/proc/self/mountinfo", cgroup_file: str = "/proc/self/cgroup") -> str | None:
    """cgroup.procs of our own cgroup in the first hierarchy where that is certain (None if none is): what
    `create` finds as `Joined.own_procs`, without planning a container's cgroup."""
    try:
        own = _own_paths(cgroup_file)
        for mnt, root, fstype, opts in _mounts(mountinfo):
            if root == "/" and _names(fstype, opts, own):
                return os.path.normpath(mnt + "/" + _relative_base(fstype, opts, own).strip("/")) + "/cgroup.procs"
    except (OSError, ValueError):
        pass
    return None


def kept_warm() -> bool:
    """Whether this process (or the one it was forked from, at the fork) runs a Warmer: cgroup.procs writes cost
    no grace period now."""
    return Warmer.active is not None and Warmer.active.running


class Warmer:
    """Keeps cgroup.procs writes cheap for a while: writes our own pid to our own cgroup.procs every `interval`
    seconds (nothing moves) in a helper thread, until `stop()` or `limit` seconds have passed.

    A cgroup.procs write that comes within about one RCU grace period of the previous one does not wait for a new
    grace period (see `Primer`); so a process that will soon fork a runtime whose cgroup writes are on a container's
    critical path (the monitor, idle while `tug run` creates the container) pays the first wait while it idles and
    keeps the state warm until those writes are done. Best effort: any failure only costs the wait.

    The write holds cgroup_mutex for as long as it waits: a mkdir in any hierarchy waits with it, so start it well
    before the runtime needs to make its cgroup. Started before unshare(CLONE_NEWPID) or not at all."""

    active: Warmer | None = None

    def __init__(self, procs_file: str | None, interval: float = 0.004, limit: float = 2.0) -> None:
        import _thread

        self.halt = _thread.allocate_lock()
        self.halt.acquire()
        self.done = _thread.allocate_lock()
        self.running = False
        fd = _open_procs(procs_file)
        if fd < 0:
            return
        self.running = True
        Warmer.active = self  # a runtime forked from this process while it runs sees it (kept_warm)
        self.done.acquire()
        _thread.start_new_thread(self._work, (fd, interval, limit))

    def _work(self, fd: int, interval: float, limit: float) -> None:
        data = str(os.getpid()).encode()
        deadline = time.monotonic() + limit
        try:
            while time.monotonic() < deadline:
                os.write(fd, data)
                if self.halt.acquire(True, interval):
                    break
        except OSError:
            pass
        finally:
            self.running = False
            os.close(fd)
            self.done.release()

    def stop(self) -> None:
        """Let the thread end after its current write (it may still be writing when this returns)."""
        if self.running:
            self.running = False
            self.halt.release()

    def wait(self) -> None:
        """Until the thread is gone (after `stop`, or once `limit` passed)."""
        self.done.acquire()
        self.done.release()
