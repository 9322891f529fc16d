"""Choosing and driving the host's cgroup layout: `for_host()` reads the mount table and returns a `Manager`.

- pure v2: cgroup2 with controllers (most current distributions) -> `V2Manager`;
- v1 controllers, with or without a controller-less cgroup2 mount beside them (systemd's "hybrid") -> `V1Manager`.

`create(path)` takes OCI `linux.cgroupsPath`: absolute below each hierarchy root, relative below the caller's own
cgroup, or systemd's `slice:prefix:name` (mapped to a plain path; there is no systemd to ask).
"""

from __future__ import annotations

import os

from tug.cgroups.cgroup import Cgroup
from tug.cgroups.files import REAL, Files, failure
from tug.cgroups.mounts import Hierarchy, own_path, parse_mountinfo, parse_proc_cgroup
from tug.cgroups.paths import normalize
from tug.cgroups.v1 import V1Cgroup, fill_cpuset
from tug.cgroups.v2 import V2Cgroup, make_dirs
from tug.errors import NotFound, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:  # collections.abc stays off tug-runtime's import path
    from collections.abc import Iterable


def _join(base: str, rel: str) -> str:
    return "/".join(p for p in (base.strip("/"), rel.strip("/")) if p)


class Manager:
    """Makes and finds container cgroups on one host layout. `version` is "v1", "hybrid" or "v2"."""

    version = ""

    def create(self, path: str) -> Cgroup:
        raise NotImplementedError

    def load(self, path: str, created: Iterable[str] = ()) -> Cgroup:
        """An existing cgroup; `created` is the `Cgroup.created` list saved at create time (for `destroy`)."""
        raise NotImplementedError

    @staticmethod
    def _display(path: str) -> tuple[bool, str, str]:
        absolute, rel = normalize(path)
        return absolute, rel, ("/" + rel if absolute else rel)


    def of_process(self, pid: int, proc: str = "/proc") -> Cgroup:
        """The cgroup process `pid` is in now (from /proc/PID/cgroup), whatever path created it: for stats of a
        container whose cgroupsPath was relative to another process's cgroup."""
        try:
            with open(f"{proc}/{pid}/cgroup") as f:
                own = parse_proc_cgroup(f.read())
        except OSError as e:
            raise NotFound(f"process {pid} is gone", where=f"{proc}/{pid}/cgroup") from e
        return self._of_own(own, pid)

    def _of_own(self, own: dict[str, str], pid: int) -> Cgroup:
        raise NotImplementedError


class V2Manager(Manager):
    version = "v2"

    def __init__(self, root: os.PathLike[str] | str, own: str = "/", files: Files = REAL) -> None:
        self.root = str(root)
        self.own = own
        self.files = files

    def _rel(self, path: str) -> tuple[str, str]:
        absolute, rel, shown = self._display(path)
        return (rel if absolute else _join(self.own, rel)), shown

    def create(self, path: str) -> Cgroup:
        rel, shown = self._rel(path)
        created: list[str] = []
        try:
            make_dirs(self.files, self.root, rel, created=created)
        except BaseException as e:
            _undo(V2Cgroup(os.path.join(self.root, rel), shown, created, self.files), e)
            raise
        return V2Cgroup(os.path.join(self.root, rel), shown, created, self.files)

    def load(self, path: str, created: Iterable[str] = ()) -> Cgroup:
        rel, shown = self._rel(path)
        d = os.path.join(self.root, rel)
        if not self.files.isdir(d):
            raise NotFound(f"cgroup {shown} does not exist", where=d)
        return V2Cgroup(d, shown, created, self.files)


    def _of_own(self, own: dict[str, str], pid: int) -> Cgroup:
        rel = own.get("")
        if rel is None:
            raise NotFound(f"process {pid} is in no cgroup v2", where=self.root)
        return V2Cgroup(os.path.join(self.root, rel.strip("/")), rel, (), self.files)


class V1Manager(Manager):
    def __init__(self, hierarchies: list[Hierarchy], own: dict[str, str] | None = None,
                 unified: Hierarchy | None = None, files: Files = REAL) -> None:
        self.hierarchies = [h for h in hierarchies if h.version == 1]
        self.own = own or {}
        self.unified = unified
        self.files = files
        self.version = "hybrid" if unified else "v1"

    def mounts(self) -> dict[str, str]:
        """hierarchy key -> mount point (e.g. {"memory": "/sys/fs/cgroup/memory", ...})."""
        return {h.key: h.mount_point for h in self.hierarchies}

    def _plan(self, path: str) -> tuple[dict[str, tuple[str, str]], tuple[str, str] | None, str]:
        """{key: (mount point, rel)}, the unified (mount, rel) if any, and the path to show."""
        absolute, rel, shown = self._display(path)
        plan = {h.key: (h.mount_point, rel if absolute else _join(own_path(self.own, h), rel))
                for h in self.hierarchies}
        uni = None
        if self.unified is not None:
            uni = (self.unified.mount_point, rel if absolute else _join(own_path(self.own, self.unified), rel))
        return plan, uni, shown

    def create(self, path: str) -> Cgroup:
        plan, uni, shown = self._plan(path)
        created: list[str] = []
        dirs: dict[str, str] = {}
        try:
            for key, (mount, rel) in plan.items():
                make_dirs(self.files, mount, rel, enable=False, created=created)
                dirs[key] = os.path.join(mount, rel)
                if "cpuset" in key.split(","):
                    fill_cpuset(self.files, mount, dirs[key])
            if uni is not None:
                make_dirs(self.files, uni[0], uni[1], enable=False, created=created)
        except BaseException as e:
            _undo(V1Cgroup({}, shown, created, self.files), e)
            raise
        return V1Cgroup(dirs, shown, created, self.files, os.path.join(*uni) if uni else None)

    def _of_own(self, own: dict[str, str], pid: int) -> Cgroup:
        dirs = {h.key: os.path.join(h.mount_point, own_path(own, h).strip("/")) for h in self.hierarchies}
        uni = None
        if self.unified is not None:
            uni = os.path.join(self.unified.mount_point, own_path(own, self.unified).strip("/"))
        shown = own.get("pids") or own.get("memory") or next(iter(own.values()), "/")
        return V1Cgroup({k: d for k, d in dirs.items() if self.files.isdir(d)}, shown, (), self.files, uni)

    def load(self, path: str, created: Iterable[str] = ()) -> Cgroup:
        plan, uni, shown = self._plan(path)
        dirs = {key: os.path.join(mount, rel) for key, (mount, rel) in plan.items()
                if self.files.isdir(os.path.join(mount, rel))}
        if not dirs:
            raise NotFound(f"cgroup {shown} does not exist in any v1 hierarchy", where=shown)
        unified = os.path.join(*uni) if uni and self.files.isdir(os.path.join(*uni)) else None
        return V1Cgroup(dirs, shown, created, self.files, unified)


def _undo(partial: Cgroup, err: BaseException) -> None:
    """A create that failed half-way removes what it made; a cleanup failure is attached to the first error."""
    try:
        partial.destroy(timeout=0.5)
    except Exception as cleanup:
        if hasattr(err, "add_cleanup_error"):
            err.add_cleanup_error(cleanup)


def _reroot(h: Hierarchy, root: os.PathLike[str] | str | None) -> Hierarchy:
    if root is None:
        return h
    return Hierarchy(os.path.join(str(root), h.mount_point.lstrip("/")), h.root, h.version, h.controllers)


def for_host(mountinfo_path: os.PathLike[str] | str = "/proc/self/mountinfo",
             root_override: os.PathLike[str] | str | None = None,
             proc_cgroup_path: os.PathLike[str] | str = "/proc/self/cgroup", files: Files = REAL) -> Manager:
    """The manager for what is mounted. `root_override` prefixes every mount point (a fake tree in tests)."""
    try:
        with open(mountinfo_path) as f:
            hierarchies = [_reroot(h, root_override) for h in parse_mountinfo(f.read())]
    except OSError as e:
        raise failure("cannot read the mount table", str(mountinfo_path), e) from None
    try:
        with open(proc_cgroup_path) as f:
            own = parse_proc_cgroup(f.read())
    except OSError:
        own = {}
    v1 = [h for h in hierarchies if h.version == 1]
    v2 = next((h for h in hierarchies if h.version == 2), None)
    if any(not c.startswith("name=") for h in v1 for c in h.controllers):
        return V1Manager(v1, own, v2, files)
    if v2 is not None:
        return V2Manager(v2.mount_point, own_path(own, v2), files)
    raise Unavailable("no cgroup hierarchy is mounted", where=str(mountinfo_path))
